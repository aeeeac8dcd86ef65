/**
 * Fair share between keys within one priority level: round-robin by start tags (start-time
 * fair queuing with equal weights). Each job gets a tag when it is queued: one past its key's
 * last queued tag at that priority, but never behind the queue's head. Dispatch takes the
 * lowest tag first (then the oldest), so a key with 10,000 queued jobs holds tags head..head+9,999
 * while a key that queues one now gets the head's tag and runs next: keys alternate.
 *
 * Both reads walk a partial index (jobs_owner_queued, jobs_queue) to one row: O(log n) per
 * insert, and dispatch keeps its single index walk (ORDER BY priority DESC, fair_tag, seq).
 * A job that goes back to the queue (a retry, a hand-back) keeps its tag: it was fair when
 * given, so it goes back near the front rather than behind its key's backlog.
 */
export function fairTag(sql: SqlStorage, owner: string, priority: number): number {
  // Both reads in one statement (one call into SQLite per submit); each is null when nothing matches.
  const { last, head } = sql
    .exec<{ last: number | null; head: number | null }>(
      `SELECT (SELECT fair_tag FROM jobs WHERE state = 'queued' AND owner = ? AND priority = ? ORDER BY fair_tag DESC LIMIT 1) AS last,
              (SELECT fair_tag FROM jobs WHERE state = 'queued' AND priority = ? ORDER BY priority DESC, fair_tag LIMIT 1) AS head`,
      owner, priority, priority,
    )
    .one();
  // An owner with nothing queued starts at the head (ties go by arrival, so just behind it).
  return Math.max(last === null ? -Infinity : last + 1, head ?? 0);
}

/** Where a queued job stands in dispatch order (1-based), priority first, then its fair tag, then arrival. */
export function fairPosition(sql: SqlStorage, jobId: string): number {
  return (
    sql
      .exec<{ n: number }>(
        `SELECT count(*) AS n FROM jobs q, (SELECT priority AS p, fair_tag AS t, seq AS s FROM jobs WHERE id = ?) me
         WHERE q.state = 'queued' AND (q.priority > me.p OR (q.priority = me.p AND (q.fair_tag < me.t OR (q.fair_tag = me.t AND q.seq < me.s))))`,
        jobId,
      )
      .one().n + 1
  );
}
