import type { NodeCatalog } from "../../shared/protocol.ts";
import { sha256Hex } from "../auth/keys.ts";

/**
 * The catalog keyed by the edge's own digest of its classes (sha256 of the sorted names, one per
 * line, as agents compute it): an agent key cannot overwrite another rig's catalog by sending its digest.
 */
export async function withOwnDigest(catalog: NodeCatalog): Promise<NodeCatalog> {
  return { ...catalog, digest: await sha256Hex([...new Set(catalog.classes)].sort().join("\n")) };
}

/**
 * The node catalogs agents reported, one row per digest (rigs built alike share one), with the
 * parsed class sets cached in memory per digest. The agent's row names its digest (agents.ts).
 */
export class NodeCatalogs {
  private readonly sql: SqlStorage;
  private readonly sets = new Map<string, ReadonlySet<string>>();

  constructor(sql: SqlStorage) {
    this.sql = sql;
  }

  /**
   * Stores a catalog under its digest; returns whether the classes stored under that digest
   * changed (a new digest, or one reported again with other classes: the last report wins).
   */
  put(catalog: NodeCatalog): boolean {
    const classes = JSON.stringify([...new Set(catalog.classes)].sort());
    const changed =
      this.sql.exec(
        `INSERT INTO node_catalogs (digest, classes) VALUES (?, ?)
         ON CONFLICT(digest) DO UPDATE SET classes = excluded.classes WHERE classes <> excluded.classes`,
        catalog.digest, classes,
      ).rowsWritten > 0;
    if (changed) this.sets.delete(catalog.digest);
    return changed;
  }

  /** The classes stored under a digest (null: none stored, e.g. pruned). */
  classes(digest: string): ReadonlySet<string> | null {
    const hit = this.sets.get(digest);
    if (hit) return hit;
    const row = this.sql.exec<{ classes: string }>(`SELECT classes FROM node_catalogs WHERE digest = ?`, digest).toArray()[0];
    if (!row) return null;
    const set: ReadonlySet<string> = new Set(JSON.parse(row.classes) as string[]);
    this.sets.set(digest, set);
    return set;
  }

  /** The sorted class list under a digest, for the admin view. */
  list(digest: string): string[] | null {
    const set = this.classes(digest);
    return set ? [...set] : null;
  }

  /** Drops catalogs no agent row names any more. */
  prune(): void {
    const gone = this.sql
      .exec<{ digest: string }>(
        `DELETE FROM node_catalogs WHERE digest NOT IN (SELECT nodes_digest FROM agents WHERE nodes_digest IS NOT NULL) RETURNING digest`,
      )
      .toArray();
    for (const { digest } of gone) this.sets.delete(digest);
  }
}
