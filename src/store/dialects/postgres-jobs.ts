/**
 * PostgreSQL's job claim, for any number of gateway processes sharing one database.
 *
 * Invariant (MUST hold): no two jobs of one lane are running under live leases, across all processes.
 * Why it holds:
 *   1. Claims serialize on a transaction-level advisory lock, taken in a statement of its own before the
 *      claiming statement (both in the claim function, below). In READ COMMITTED every statement takes a
 *      fresh snapshot (also each statement of a `volatile` function), and PostgreSQL
 *      releases a transaction's locks only after its commit is visible, so each claim's snapshot holds
 *      every earlier claim. Without the lock, `SKIP LOCKED` alone is not enough: two claimers with
 *      snapshots a moment apart can pick two *different* rows of one lane (say job 7 and a job 5 whose
 *      enqueue transaction committed between the two snapshots), each thinking its row is the lane's
 *      head; no row lock is shared, so nothing stops them. With the lock, the second claimer sees job 7
 *      running and `laneIsFree` rule 2 refuses job 5.
 *   2. Against everything else that writes jobs (workers completing, failing, deferring, releasing or
 *      extending their own jobs; enqueues; an operator retrying a dead job) the candidates are locked
 *      `FOR UPDATE SKIP LOCKED`: a row another transaction is writing is skipped, not waited for, and a
 *      row changed since the snapshot is re-checked on its newest version (READ COMMITTED's recheck),
 *      which is why the ready conditions are repeated in `picked`. Those other writers either make a
 *      lane less busy (a running job leaves `running`), so a stale lane check only refuses a job the
 *      next claim takes, or add pending jobs, which start nothing and which the next claim holds back
 *      under rule 2 while the lane runs.
 *   3. Leases: a job whose lease lapsed counts as not running. Like every lease-based queue this
 *      presumes its worker dead; the runner renews leases every `leaseMs / 3`, and clocks of the
 *      processes must agree to well within `leaseMs`.
 * The lock is held for one short statement and its commit. The claim commits with `synchronous_commit = off` so the
 * lock is not held through a WAL flush: a claim lost in a database crash only leaves its jobs claimable
 * again, the same outcome as a worker crash (at least once), never a lost job.
 */
import { createHash } from 'node:crypto'
import { toMessageContext, type MessageContextRow } from '../flow/flow-ops.js'
import type { ClaimedJobRow, ClaimJobsInput } from '../flow/flow-store.js'
import type { MessagesTable } from '../schema.js'
import type { SqlExecutor } from '../flow/sql-executor.js'
import { laneIsFree } from './jobs-lane-rule.js'

/** Advisory lock keys are two int4 (the namespace is per database); the first is 'SwBd'. */
const LOCK_SPACE = 0x53774264

/**
 * The second key of a queue's claim lock: 1 for the message flow, 2 for event deliveries. The queues'
 * lanes never meet (event lanes are `evt:…`), so each queue's claims need only serialize among themselves.
 * 3 is the queue's vacuum (postgres-queue-vacuum.ts), 4 the claim function's installation.
 */
const claimLockKey = (queue: string): number => (queue === 'main' ? 1 : 2)
const INSTALL_LOCK_KEY = 4

/**
 * The candidates come from bounded scans, never one `OR`, which would check the lane of every due row
 * before the limit: first expired leases, then each team's due jobs in `run_at` order off
 * `jobs_ready_idx (queue, state, team_id, run_at)`.
 * The planner cannot know that the lane rule passes early rows, and on a queue table's ever-stale
 * statistics it picked a bitmap scan that checked the lane of every due row before sorting: 31 ms for
 * a claim of 8 from 10,000 jobs, against 0.23 ms for the ordered index scan that stops at the limit.
 * So this transaction turns off sequential and bitmap scans (`set_config(…, true)` is `SET LOCAL`).
 *
 * Teams are served in turn (SPEC §13): `teams` finds the teams with pending jobs by a skip scan (one
 * index seek per team, however many jobs each has), `due` takes up to `limit` free jobs of each team,
 * and each job's `turn` is its place in its team's line plus the jobs the team already runs, in every
 * process (`running` counts those once per team; counted beside `row_number()` it ran once per candidate,
 * 10 index scans of the team's running jobs a claim). The claim takes the smallest turns: a team with one waiting message goes before the 257th job
 * of a team whose backlog fills the runners, so one team's flood or slow bot never holds another's
 * messages back for longer than a slot takes to come free. With one team this is the old order.
 * Measured with test/queue/claim-bench.ts (same 10,000 jobs over 1,000 lanes): claim + complete of 8
 * in 3.2 ms, a runner at concurrency 32 ~5,000 jobs/s. Each blocked row the scan passes costs ~8 µs
 * here (SQLite: ~0.6 µs): behind one lane's backlog of 5,000, a claim takes ~39 ms, and claims are
 * serialized, so such a backlog slows every process's claims.
 */
const CLAIM = `
  with recursive teams(team) as (
    (select j.team_id from jobs j where j.queue = $5 and j.state = 'pending' order by j.team_id limit 1)
    union all
    select (select j.team_id from jobs j where j.queue = $5 and j.state = 'pending' and j.team_id > t.team
      order by j.team_id limit 1)
    from teams t where t.team is not null
  ),
  running(team, jobs) as (
    select t.team, (select count(*) from jobs r where r.queue = $5 and r.state = 'running' and r.team_id = t.team)
    from teams t where t.team is not null
  ),
  due as (
    select c.id, c.run_at, row_number() over (partition by t.team order by c.run_at, c.id) + t.jobs as turn
    from running t cross join lateral (
      select j.id, j.run_at from jobs j
      where j.queue = $5 and j.state = 'pending' and j.team_id = t.team and j.run_at <= $3 and ${laneIsFree('$3')}
      order by j.run_at
      limit $4
    ) c
  ),
  candidates as (
    (select j.id, 0 as turn, j.run_at from jobs j
      where j.queue = $5 and j.state = 'running' and j.locked_until < $3 and ${laneIsFree('$3')}
      order by j.id
      limit $4)
    union all
    (select id, turn, run_at from due order by turn, run_at limit $4)
  ),
  picked as (
    select j.id, j.payload from jobs j join candidates c on c.id = j.id
    where (j.state = 'pending' and j.run_at <= $3) or (j.state = 'running' and j.locked_until < $3)
    order by c.turn, c.run_at
    limit $4
    for update of j skip locked
  )
  update jobs
  set state = 'running', locked_by = $1, locked_until = $2, attempts = jobs.attempts + 1, updated_at = $3
  from picked
    left join messages m on m.id = (picked.payload::json ->> 'messageId')
    left join conversations c on c.id = m.conversation_id
  where jobs.id = picked.id
  returning jobs.id, jobs.task, jobs.payload, jobs.lane, jobs.attempts, jobs.max_attempts,
    row_to_json(m) as message_row, c.participant_id, c.participant_phone, c.participant_bsuid, c.participant_name,
    c.handled_by as conversation_handled_by, c.last_inbound_at as conversation_last_inbound_at,
    c.window_closed_at as conversation_window_closed_at, c.opted_out_at as conversation_opted_out_at`

/**
 * The claim runs in the server, as a PL/pgSQL function called by one autocommitted statement: its
 * settings (`SET LOCAL`, and `synchronous_commit = off` for its commit), the lock, then the claiming
 * statement. A `volatile` function takes a fresh snapshot for each statement it runs, so the claiming
 * statement, after the lock, sees every claim committed before it (point 1 above). As a `begin; lock`
 * query, the claim and a `commit` from the gateway, it cost three round trips, and the lock was held
 * through two of them, stretched by the gateway's busy event loop: 7.3 ms a claim against ~2 ms of work
 * in the bench, held 59 % of the time with one instance and 93 % with two (BENCHMARKS.md). Now the lock is
 * held only while the server works. `#variable_conflict use_column`: the result's column names (`id`,
 * `lane`…) are variables in PL/pgSQL, and the claim's unqualified names mean the tables' columns.
 */
const CLAIM_FUNCTION_BODY = `(text, text, text, integer, text, integer)
  returns table (id text, task text, payload text, lane text, attempts integer, max_attempts integer, message_row json,
    participant_id text, participant_phone text, participant_bsuid text, participant_name text, conversation_handled_by text,
    conversation_last_inbound_at text, conversation_window_closed_at text, conversation_opted_out_at text)
  language plpgsql volatile
  set enable_seqscan = off
  set enable_bitmapscan = off
as $claim$
#variable_conflict use_column
begin
  perform set_config('synchronous_commit', 'off', true);
  perform pg_advisory_xact_lock(${LOCK_SPACE}, $6);
  return query ${CLAIM};
end
$claim$`

/**
 * The function's name carries a digest of its text: instances of two versions (a rolling deploy) each
 * call their own, and a version's function is created once, by whichever instance needs it first.
 */
export const CLAIM_FUNCTION = `switchboard_claim_${createHash('sha256').update(CLAIM_FUNCTION_BODY).digest('hex').slice(0, 16)}`
const CALL_CLAIM = `select * from ${CLAIM_FUNCTION}($1, $2, $3, $4, $5, $6)`

/**
 * Creates this version's claim function unless it exists; MUST run in a transaction, whose lock makes
 * instances starting together take turns.
 */
export async function installClaimFunction(executor: SqlExecutor): Promise<void> {
  await executor.all(`select pg_advisory_xact_lock(${LOCK_SPACE}, ${INSTALL_LOCK_KEY})`, [])
  const existing = await executor.all(`select 1 from pg_proc where proname = $1 and pronamespace = current_schema()::regnamespace`, [CLAIM_FUNCTION])
  if (existing.length === 0) await executor.run(`create function ${CLAIM_FUNCTION}${CLAIM_FUNCTION_BODY}`, [])
}

/** A claimed row with the message its payload names, read in the claim's statement (`message_row` null when none). */
type ClaimedRowWithContext = ClaimedJobRow & Omit<MessageContextRow, keyof MessagesTable> & { message_row: MessagesTable | null }

/** Claims jobs: one autocommitted call of the claim function, which `installClaimFunction` must have created. */
export async function claimPostgresJobs(executor: SqlExecutor, input: ClaimJobsInput): Promise<ClaimedJobRow[]> {
  const rows = await executor.all<ClaimedRowWithContext>(CALL_CLAIM, [
    input.workerId, input.lockedUntilIso, input.nowIso, input.limit, input.queue, claimLockKey(input.queue),
  ])
  return rows.map(({ message_row, participant_id, participant_phone, participant_bsuid, participant_name, conversation_handled_by,
    conversation_last_inbound_at, conversation_window_closed_at, conversation_opted_out_at, ...job }) => {
    if (message_row === null || participant_id === null) return job
    const context = toMessageContext({
      ...message_row, participant_id, participant_phone, participant_bsuid, participant_name, conversation_handled_by,
      conversation_last_inbound_at, conversation_window_closed_at, conversation_opted_out_at,
    })
    return { ...job, prefetched: context }
  })
}
