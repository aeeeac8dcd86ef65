/**
 * Splits a flag string as a POSIX shell would (no expansion): words by blanks, `'…'` literal,
 * `"…"` with `\"` `\\` `\$` escapes, a bare `\` escaping the next character.
 * Returns null for an unterminated quote or a trailing backslash.
 *
 * @example splitShellWords(`--output-directory "/data/comfy out" --highvram`) // ["--output-directory", "/data/comfy out", "--highvram"]
 */
export function splitShellWords(text: string): string[] | null {
  const words: string[] = [];
  let word = "";
  let inWord = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i] as string;
    if (c === " " || c === "\t" || c === "\n") {
      if (inWord) words.push(word);
      word = "";
      inWord = false;
      continue;
    }
    inWord = true;
    if (c === "\\") {
      if (i + 1 >= text.length) return null;
      word += text[++i];
    } else if (c === "'") {
      const end = text.indexOf("'", i + 1);
      if (end < 0) return null;
      word += text.slice(i + 1, end);
      i = end;
    } else if (c === '"') {
      let j = i + 1;
      for (; j < text.length && text[j] !== '"'; j++) {
        if (text[j] === "\\" && j + 1 < text.length && '"\\$`'.includes(text[j + 1] as string)) j++;
        word += text[j];
      }
      if (j >= text.length) return null;
      i = j;
    } else word += c;
  }
  if (inWord) words.push(word);
  return words;
}
