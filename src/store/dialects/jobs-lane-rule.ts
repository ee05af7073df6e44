/**
 * The lane rule both dialects' claims share, as one SQL fragment over a candidate aliased `j`. A job
 * with a lane may start only when
 *   1. no job of its lane with a smaller id is pending or running (whatever its `run_at`: a message
 *      backing off blocks the ones after it, which is what keeps a conversation in order), and
 *   2. no job of its lane is running under a lease that has not expired.
 * Rule 1 alone would be enough if ids reached the table in id order. They need not: an enqueue
 * transaction that took its ids first can commit after another that took later ids (two webhooks of one
 * conversation in flight at once), and its smaller id would pass rule 1 while the later job runs. Rule 2
 * covers that case. Rule 1 lets through only a lane's smallest live id, so one claim never takes two jobs
 * of a lane. Both are index seeks on `jobs_lane_state_idx (lane, state, id)`, which dead rows never slow.
 */

/** `true` when the candidate `j` is free to start under the lane rule; `now` is the parameter holding the time. */
export function laneIsFree(now: string): string {
  // Rule 1 for pending rows is one covering seek; rule 1 for running rows and rule 2 share one seek on
  // the lane's running rows, which are few (one, unless a lease expired or ids came in late).
  return `(j.lane is null or (
      not exists (select 1 from jobs p where p.lane = j.lane and p.state = 'pending' and p.id < j.id)
      and not exists (select 1 from jobs q where q.lane = j.lane and q.state = 'running' and q.id <> j.id
        and (q.id < j.id or q.locked_until >= ${now}))
    ))`
}
