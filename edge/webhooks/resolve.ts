import { z } from "zod";

/** What the resolver is fetched with: the runtime's fetch, or a stand-in a test passes in. */
export type DohFetch = (input: string, init?: RequestInit) => Promise<Response>;

/** RFC 8484's JSON flavour as Cloudflare and Google serve it (`application/dns-json`). */
const DohAnswerSchema = z.object({
  Status: z.number().int(),
  Answer: z.array(z.object({ type: z.number().int(), data: z.string() })).optional(),
});

const RR_A = 1;
const RR_AAAA = 28;
/** How long one DNS question may take; the delivery is retried later when it does not answer. */
export const DOH_TIMEOUT_MS = 3_000;

export type Resolution = { ok: true; addresses: string[] } | { ok: false; reason: string };

async function query(name: string, type: "A" | "AAAA", resolver: string, fetcher: DohFetch): Promise<Resolution> {
  const url = new URL(resolver);
  url.searchParams.set("name", name);
  url.searchParams.set("type", type);
  let res: Response;
  try {
    res = await fetcher(url.toString(), { headers: { accept: "application/dns-json" }, signal: AbortSignal.timeout(DOH_TIMEOUT_MS) });
  } catch {
    return { ok: false, reason: "could not be resolved (the DNS resolver did not answer)" };
  }
  if (!res.ok) {
    await res.body?.cancel();
    return { ok: false, reason: `could not be resolved (the DNS resolver answered HTTP ${res.status})` };
  }
  const parsed = DohAnswerSchema.safeParse(await res.json().catch(() => null));
  if (!parsed.success) return { ok: false, reason: "could not be resolved (the DNS resolver's answer was malformed)" };
  // NXDOMAIN (3) and NOERROR with no data both mean "no address of this type".
  if (parsed.data.Status !== 0 && parsed.data.Status !== 3) return { ok: false, reason: `could not be resolved (DNS status ${parsed.data.Status})` };
  const want = type === "A" ? RR_A : RR_AAAA;
  return { ok: true, addresses: (parsed.data.Answer ?? []).filter((a) => a.type === want).map((a) => a.data.trim()) };
}

/** Every A and AAAA address of `name` per a DNS-over-HTTPS JSON resolver (CNAMEs are followed by the resolver). */
export async function resolveName(name: string, resolver: string, fetcher: DohFetch = fetch): Promise<Resolution> {
  const answers = await Promise.all([query(name, "A", resolver, fetcher), query(name, "AAAA", resolver, fetcher)]);
  const failed = answers.find((a) => !a.ok);
  if (failed) return failed;
  const addresses = answers.flatMap((a) => (a.ok ? a.addresses : []));
  if (addresses.length === 0) return { ok: false, reason: "does not resolve to any address" };
  return { ok: true, addresses };
}
