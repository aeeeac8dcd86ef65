import { describe, expect, test } from "vitest";
import { DownloadError, toFailure } from "../../install/models/errors.ts";
import { fetchFailure } from "./download.ts";

const errno = (code: string) => Object.assign(new Error(`${code}: write failed`), { code });

describe("fetchFailure", () => {
  test("classes the downloader's failures as the protocol's fetch error codes", () => {
    expect(fetchFailure(toFailure(errno("ENOSPC"))).code).toBe("disk_full");
    expect(fetchFailure(toFailure(new DownloadError("not_found", "404 from x", false))).code).toBe("not_found");
    expect(fetchFailure(toFailure(new DownloadError("checksum_mismatch", "sha256 differs", false))).code).toBe("checksum_mismatch");
    expect(fetchFailure(toFailure(new DownloadError("unauthorized", "401 from huggingface.co", false))).code).toBe("download_failed");
    expect(fetchFailure(toFailure(errno("ECONNRESET"))).code).toBe("download_failed");
    expect(fetchFailure(toFailure(errno("EACCES"))).code).toBe("download_failed");
  });
});
