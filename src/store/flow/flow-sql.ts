/**
 * The hot path's SQL, one text per statement for both databases. Parameters are `$1, $2, …` (PostgreSQL's
 * form; SQLite reads `$1` as a named parameter, which its executor binds by number). Set-based statements
 * take their rows as ONE parameter, a JSON array of arrays, read back with `r.value ->> i`: the text
 * stays the same whatever the row count (prepared once per connection), and a batch of any size is one
 * statement, one round trip on PostgreSQL. The dialect supplies only the table function that turns the
 * JSON parameter into rows (`json_each` or `json_array_elements`).
 */

/** What the statements need from the dialect. */
export interface FlowSqlDialect {
  /** The rows of JSON array parameter `param` as a table aliased `r`, each row's array in `r.value`. */
  jsonRows(param: string): string
  /**
   * How long after its creation an event's delivery may start (core/events.ts `EVENT_ORDERING_GRACE_MS`
   * says why); the same on both databases today.
   */
  eventOrderingGraceMs: number
  /**
   * Whether one statement may change several tables (PostgreSQL's data-modifying `WITH`). Where it can,
   * the operations that are several statements elsewhere (`completeInboundAtOnce`, `markSentAtOnce`) are
   * one round trip; SQLite, in-process, gains nothing from it and has no such statement.
   */
  writableCtes: boolean
  /**
   * The condition "`id` is the first field of one of JSON array parameter `param`'s rows", for the
   * statements that touch jobs by id. Left out, it is `id in (select … from jsonRows(param))`. PostgreSQL
   * gives it as `id = any(array(…))`: the `in` form is a join whose plan follows the table's statistics,
   * and right after a vacuum (few live rows) it became a sequential scan of the whole bloated table,
   * 4.4 ms a call against ~0.2 ms by the primary key; an array from a sub-select is always probed by the
   * index.
   */
  idIn?(param: string): string
}

import { EVENT_DELIVERY_TASK, EVENTS_QUEUE } from '../../core/events.js'

/** The column of row field `i` (JSON text or null). */
const f = (i: number) => `r.value ->> ${i}`

/** Delivery statuses a status update may move a message out of (core/status.ts `statusesBefore`). */
const FROM_STATUSES: Record<'sent' | 'delivered' | 'read' | 'failed', string> = {
  sent: `('queued')`,
  delivered: `('queued', 'sent')`,
  read: `('queued', 'sent', 'delivered')`,
  failed: `('queued', 'sent', 'delivered')`,
}

export type FlowSql = ReturnType<typeof createFlowSql>

/** Builds the statements for one dialect (once, at start-up). */
export function createFlowSql(dialect: FlowSqlDialect) {
  const rows = dialect.jsonRows
  const idIn = dialect.idIn ?? ((param: string) => `id in (select ${f(0)} from ${rows(param)})`)

  /** Status updates, one statement set per target status (the allowed previous states are literals). */
  const statusUpdates = (status: keyof typeof FROM_STATUSES) => {
    // A `failed` status also records the provider's error, from the two parameters after `now`.
    const error = (code: string, message: string) =>
      status === 'failed' ? `, error_code = coalesce(${code}, error_code), error_message = coalesce(${message}, error_message)` : ''
    const byGatewayId = `update messages set status = '${status}', provider_message_id = $2, updated_at = $4${error('$5', '$6')}
        where id = $3 and channel_id = $1 and direction = 'out' and status in ${FROM_STATUSES[status]}
        returning id, team_id, conversation_id, error_code, error_message`
    const byProviderId = (now: string, code: string, message: string, also = '') => `update messages
        set status = '${status}', updated_at = ${now}${error(code, message)}
        where channel_id = $1 and direction = 'out' and provider_message_id = $2 and status in ${FROM_STATUSES[status]}${also}
        returning id, team_id, conversation_id, error_code, error_message`
    return {
      /**
       * By the gateway id the provider echoed; also records the provider id (an in-doubt send learns here
       * that it went out). Parameters: channel, provider id, gateway id, now [, error code, error message].
       */
      byGatewayId,
      /** By the provider's id. Parameters: channel, provider id, now [, error code, error message]. */
      byProviderId: byProviderId('$3', '$4', '$5'),
      /**
       * Where `writableCtes`: both of the above and the stale-or-unknown check in one statement (one round
       * trip per status, where a status that finds its message moved on already took three). Parameters:
       * channel, provider id, gateway id (or null), now [, error code, error message]. One row: the changed
       * message's columns and `outcome` (`applied`, `stale` or `unknown`).
       */
      atOnce: `
        with by_gateway as (${byGatewayId.replace('where id = $3', 'where $3::text is not null and id = $3')}),
        by_provider as (${byProviderId('$4', '$5', '$6', ' and not exists (select 1 from by_gateway)')})
        select id, team_id, conversation_id, error_code, error_message, 'applied' as outcome from by_gateway
        union all
        select id, team_id, conversation_id, error_code, error_message, 'applied' as outcome from by_provider
        union all
        select null, null, null, null, null, case when exists (select 1 from messages k where k.channel_id = $1
            and k.direction = 'out' and (k.provider_message_id = $2 or k.id = $3)) then 'stale' else 'unknown' end
        where not exists (select 1 from by_gateway) and not exists (select 1 from by_provider)`,
    }
  }

  /**
   * Queued outbound messages. Rows: id, team, channel, conversation, type, text, payload (JSON text),
   * reply-to id, now, author.
   */
  const outboundInsert = (param: string, where: string) => `
      insert into messages (id, team_id, channel_id, conversation_id, direction, type, text, payload, status,
        provider_message_id, error_code, error_message, reply_to_id, send_started_at, author, created_at, updated_at)
      select ${f(0)}, ${f(1)}, ${f(2)}, ${f(3)}, 'out', ${f(4)}, ${f(5)}, ${f(6)}, 'queued',
        null, null, null, ${f(7)}, null, ${f(9)}, ${f(8)}, ${f(8)}
      from ${rows(param)} ${where}`

  /**
   * Events fanned out into one delivery job per enabled subscription of the event's team that wants its
   * type (core/events.ts), in the transaction of the change they report. Rows: job id prefix (the job
   * id is it + the subscription id, so a lane's jobs sort in event order), team, type, order key, the
   * event's JSON, run at, now. `maxAttempts`: the parameter of the max attempts. (Each `->>` is
   * parenthesized: in PostgreSQL `||` binds tighter.)
   */
  const fanOutInsert = (param: string, maxAttempts: string, where: string) => `
      insert into jobs (id, task, payload, lane, key, state, run_at, attempts, max_attempts, last_error,
        locked_by, locked_until, created_at, updated_at, queue, team_id)
      select (${f(0)}) || w.id, '${EVENT_DELIVERY_TASK}', '{"webhookId":"' || w.id || '","event":' || (${f(4)}) || '}',
        'evt:' || w.id || ':' || (${f(3)}), null, 'pending', (${f(5)}), 0, cast(${maxAttempts} as integer), null, null, null,
        (${f(6)}), (${f(6)}), '${EVENTS_QUEUE}', w.team_id
      from ${rows(param)} join event_webhooks w on w.team_id = (${f(1)}) and w.enabled = 1
        and w.events like ('%"' || (${f(2)}) || '"%') ${where}`

  /**
   * Jobs; a row whose key exists is skipped. Rows: id, task, payload, lane, key, run at, max attempts,
   * now, state, attempts, locked by, locked until (those four for a job created already claimed), team.
   * (`where` is never empty: SQLite needs one between a `select … from` and `on conflict`.)
   */
  const jobsInsert = (param: string, where: string) => `
      insert into jobs (id, task, payload, lane, key, state, run_at, attempts, max_attempts, last_error,
        locked_by, locked_until, created_at, updated_at, team_id)
      select ${f(0)}, ${f(1)}, ${f(2)}, ${f(3)}, ${f(4)}, ${f(8)}, ${f(5)}, cast(${f(9)} as integer),
        cast(${f(6)} as integer), null, ${f(10)}, ${f(11)}, ${f(7)}, ${f(7)}, ${f(12)}
      from ${rows(param)} ${where}
      on conflict (key) do nothing`

  const markProcessed = (id: string, now: string) => `update messages set status = 'processed', error_code = null, error_message = null,
      updated_at = ${now} where id = ${id} and status = 'received'`

  const markSentFromQueued = (id: string, providerId: string, now: string) => `update messages
      set provider_message_id = coalesce(provider_message_id, ${providerId}), status = 'sent', updated_at = ${now}
      where id = ${id} and status = 'queued'`

  return {
    writableCtes: dialect.writableCtes,

    /**
     * `completeInbound` without a handover, as one statement where `writableCtes`: the message goes
     * `received → processed`, and only then (same snapshot) its replies and their jobs are inserted.
     * Parameters: message id, now, reply rows (`insertOutbound`'s), job rows (`insertJobs`'s). Returns
     * `n`: 1 when the message moved, 0 when it was handled already (nothing inserted).
     */
    completeInboundAtOnce: `
      with processed as (${markProcessed('$1', '$2')} returning id),
      replies as (${outboundInsert('$3', 'where exists (select 1 from processed)')}),
      queued as (${jobsInsert('$4', 'where exists (select 1 from processed)')})
      select count(*) as n from processed`,

    /**
     * `markSent` for a queued message with its `message.sent` event fanned out, as one statement where
     * `writableCtes`. Parameters: id, provider id, now, event rows (`fanOutEvents`'s), max attempts.
     * Returns `n`: 0 when the message was no longer queued (the caller then records only the id).
     */
    markSentAtOnce: `
      with sent as (${markSentFromQueued('$1', '$2', '$3')} returning team_id),
      events as (${fanOutInsert('$4', '$5', 'where exists (select 1 from sent)')})
      select count(*) as n from sent`,

    eventOrderingGraceMs: dialect.eventOrderingGraceMs,

    /**
     * Finds or creates each conversation and refreshes what we know of the participant. Rows: id, team,
     * channel, key, participant id, phone, bsuid, name, last inbound (or null), now. A new fact only
     * replaces an unknown one or an older one; `last_inbound_at` never moves back.
     */
    upsertConversations: `
      insert into conversations (id, team_id, channel_id, participant_key, participant_id, participant_phone,
        participant_bsuid, participant_name, last_inbound_at, created_at, updated_at)
      select ${f(0)}, ${f(1)}, ${f(2)}, ${f(3)}, ${f(4)}, ${f(5)}, ${f(6)}, ${f(7)}, ${f(8)}, ${f(9)}, ${f(9)}
      from ${rows('$1')} where true
      on conflict (channel_id, participant_key) do update set
        participant_phone = coalesce(excluded.participant_phone, conversations.participant_phone),
        participant_bsuid = coalesce(excluded.participant_bsuid, conversations.participant_bsuid),
        participant_name = coalesce(excluded.participant_name, conversations.participant_name),
        last_inbound_at = case when excluded.last_inbound_at > coalesce(conversations.last_inbound_at, '')
          then excluded.last_inbound_at else conversations.last_inbound_at end,
        updated_at = excluded.updated_at
      returning id, channel_id, participant_key, participant_id, participant_phone, participant_bsuid, participant_name, handled_by`,

    /** Which of the (channel, key) rows already have a conversation. */
    conversationsByKey: `
      select c.channel_id, c.participant_key from conversations c
      join ${rows('$1')} on c.channel_id = ${f(0)} and c.participant_key = ${f(1)}`,

    /** Conversations of (channel, phone) rows, oldest first (a participant known by phone before a BSUID). */
    conversationsByPhone: `
      select c.id, c.channel_id, c.participant_phone from conversations c
      join ${rows('$1')} on c.channel_id = ${f(0)} and c.participant_phone = ${f(1)}
      order by c.id`,

    /** Re-keys a conversation found by phone to the participant's BSUID. */
    rekeyConversation: `update conversations set participant_key = $2, updated_at = $3 where id = $1`,

    /**
     * Inbound messages, skipping any already stored for the channel (a provider's retry). Rows: id, team,
     * channel, conversation, type, text, payload, status, provider id, now. Returns the ids inserted.
     */
    insertInbound: `
      insert into messages (id, team_id, channel_id, conversation_id, direction, type, text, payload, status,
        provider_message_id, error_code, error_message, reply_to_id, send_started_at, created_at, updated_at)
      select ${f(0)}, ${f(1)}, ${f(2)}, ${f(3)}, 'in', ${f(4)}, ${f(5)}, ${f(6)}, ${f(7)}, ${f(8)},
        null, null, null, null, ${f(9)}, ${f(9)}
      from ${rows('$1')} where true
      on conflict (channel_id, direction, provider_message_id) do nothing
      returning id`,

    /** Queued outbound messages (rows as `outboundInsert` says). */
    insertOutbound: outboundInsert('$1', ''),

    /** Events fanned out into delivery jobs (rows as `fanOutInsert` says); $2: max attempts. */
    fanOutEvents: fanOutInsert('$1', '$2', ''),

    /**
     * A bot's handover: the conversation goes to a person, unless one has it already. Parameters:
     * conversation id, now, expires at (or null).
     */
    handOverToHuman: `update conversations set handled_by = 'human', handed_over_at = $2, handover_expires_at = $3, updated_at = $2
      where id = $1 and handled_by <> 'human' returning id`,

    /** A delivery attempt of an event. Parameters: id, webhook, event id, type, attempt, status code, duration ms, error, now. */
    insertDelivery: `insert into event_deliveries (id, webhook_id, event_id, event_type, attempt, status_code, duration_ms, error, created_at)
      values ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,

    /** A `received` message resolved by its inbound task. Parameters: id, type, text, payload, now. */
    updateInbound: `update messages set type = $2, text = $3, payload = $4, updated_at = $5
      where id = $1 and status = 'received'`,

    /**
     * The channel's messages with these provider ids. Rows: [provider id]. Both directions are named so
     * the (channel, direction, provider id) index serves the lookup.
     */
    messagesByProviderIds: `select m.id, m.provider_message_id from messages m
      where m.channel_id = $1 and m.direction in ('in', 'out')
        and m.provider_message_id in (select ${f(0)} from ${rows('$2')})`,

    /** The latest buttons or list message among the conversation's last 20 messages. */
    lastChoiceMessage: `select payload from (
        select type, direction, payload, id from messages where conversation_id = $1 order by id desc limit 20
      ) recent where direction = 'out' and type in ('buttons', 'list') order by id desc limit 1`,

    /** Jobs; a row whose key exists is skipped (rows as `jobsInsert` says). */
    insertJobs: jobsInsert('$1', 'where true'),

    /** Which of the lanes (rows: [lane]) have a live job: a job created in them must wait its turn. */
    busyLanes: `select distinct j.lane from jobs j
      where j.lane in (select ${f(0)} from ${rows('$1')}) and j.state in ('pending', 'running')`,

    statusUpdates: {
      sent: statusUpdates('sent'),
      delivered: statusUpdates('delivered'),
      read: statusUpdates('read'),
      failed: statusUpdates('failed'),
    },
    /** Whether the channel has an outbound message a status names (to tell `stale` from `unknown`). */
    outboundKnown: `select id from messages where channel_id = $1 and direction = 'out'
      and (provider_message_id = $2 or id = $3)`,

    messageContext: `
      select m.*, c.participant_id, c.participant_phone, c.participant_bsuid, c.participant_name, c.handled_by as conversation_handled_by,
        c.last_inbound_at as conversation_last_inbound_at, c.window_closed_at as conversation_window_closed_at,
        c.opted_out_at as conversation_opted_out_at
      from messages m join conversations c on c.id = m.conversation_id
      where m.id = $1`,

    /** The provider said the window is closed. Parameters: conversation id, now. */
    closeWindow: `update conversations set window_closed_at = $2, updated_at = $2 where id = $1`,
    /** The same, for the conversation of an outbound message a status names. Parameters: channel, provider id, gateway id, now. */
    closeWindowOfMessage: `update conversations set window_closed_at = $4, updated_at = $4
      where id = (select m.conversation_id from messages m where m.channel_id = $1 and m.direction = 'out'
        and (m.provider_message_id = $2 or m.id = $3) limit 1)`,
    /**
     * A broadcast's recipients taken for dispatch: only those still `pending` (a crash after the commit,
     * or a cancel, leaves the others alone). Parameters: broadcast id, rows [position], now.
     */
    takeRecipients: `update broadcast_recipients set state = 'queued', updated_at = $3
      where broadcast_id = $1 and state = 'pending' and position in (select cast(${f(0)} as integer) from ${rows('$2')})
      returning position`,
    /** The message each dispatched recipient got. Parameters: broadcast id, rows [position, message id]. */
    setRecipientMessages: `update broadcast_recipients set message_id = (
        select ${f(1)} from ${rows('$2')} where cast(${f(0)} as integer) = broadcast_recipients.position)
      where broadcast_id = $1 and position in (select cast(${f(0)} as integer) from ${rows('$2')})`,

    /**
     * A bot's history: the conversation's messages before $2 since its last reset, newest first, at most
     * $3; failed ones left out. One query on the (conversation, id) index. Parameters: conversation, before
     * message id, limit.
     */
    conversationHistory: `select m.id, m.direction, m.type, m.text, m.payload from messages m
      join conversations c on c.id = m.conversation_id
      where m.conversation_id = $1 and m.id < $2 and (c.history_since is null or m.id > c.history_since)
        and m.status <> 'failed'
        -- The reset's own reply ("Conversation reset.") starts no history.
        and (c.history_since is null or m.reply_to_id is null or m.reply_to_id <> c.history_since)
      order by m.id desc limit $3`,
    /** A reset: the bot's history starts after message $2. Parameters: conversation, message id, now. */
    resetHistory: `update conversations set history_since = $2, updated_at = $3 where id = $1`,

    /**
     * A stored media item's row (media/: the bytes are in the media store already). Parameters: id, team,
     * mime type, size, sha256, file name, storage key, source, now.
     */
    insertMedia: `insert into media (id, team_id, mime_type, size, sha256, filename, storage_key, source, provider_uploads, created_at)
      values ($1, $2, $3, $4, $5, $6, $7, $8, '{}', $9)`,

    /** Opt-out (a time) or back in (null). Parameters: conversation id, opted out at, now. */
    setOptedOut: `update conversations set opted_out_at = $2, updated_at = $3 where id = $1`,

    /** The inbound status guard: `received → processed`, once. */
    markProcessed: markProcessed('$1', '$2'),
    markInboundFailed: `update messages set status = 'failed', error_code = $2, error_message = $3, updated_at = $4
      where id = $1 and status = 'received' returning team_id, conversation_id`,
    markSendStarted: `update messages set send_started_at = $2, updated_at = $2
      where id = $1 and status = 'queued' and send_started_at is null`,
    markSendRestarted: `update messages set send_started_at = $2, updated_at = $2
      where id = $1 and status = 'queued' and send_started_at = $3`,
    /** `queued → sent` with the provider's id: the usual case, one statement. Parameters: id, provider id, now. */
    markSentFromQueued: `${markSentFromQueued('$1', '$2', '$3')} returning team_id, conversation_id`,
    /** The provider's id only, when a status moved the message on already. */
    markSent: `update messages set provider_message_id = coalesce(provider_message_id, $2),
      status = case when status = 'queued' then 'sent' else status end, updated_at = $3
      where id = $1`,
    clearSendStarted: `update messages set send_started_at = null, updated_at = $2 where id = $1`,
    markOutboundFailed: `update messages set status = 'failed', error_code = $2, error_message = $3, updated_at = $4
      where id = $1 and status = 'queued' returning team_id, conversation_id`,

    /**
     * Completed jobs leave the table. Rows: [id]. (`coalesce(state, '')` keeps the state index out: SQLite
     * cannot size the JSON rows and otherwise walks every running job instead of looking up each id.)
     */
    deleteJobs: `delete from jobs where ${idIn('$1')}
      and coalesce(state, '') = 'running' and locked_by = $2 returning id`,
    /** Released jobs are pending again at once, the attempt not spent. Rows: [id]. */
    releaseJobs: `update jobs set state = 'pending', attempts = attempts - 1, locked_by = null, locked_until = null,
      updated_at = $3 where ${idIn('$1')} and coalesce(state, '') = 'running' and locked_by = $2
      returning id`,
    retryJob: `update jobs set state = 'pending', run_at = $3, last_error = $4, locked_by = null, locked_until = null,
      updated_at = $5 where id = $1 and state = 'running' and locked_by = $2 returning id`,
    /** A deferral keeps its reason in `last_error`: the job list says why it waits, and held sends are found by it. */
    deferJob: `update jobs set state = 'pending', run_at = $3, attempts = attempts - 1, last_error = $5, locked_by = null,
      locked_until = null, updated_at = $4 where id = $1 and state = 'running' and locked_by = $2 returning id`,
    buryJob: `update jobs set state = 'dead', last_error = $3, locked_by = null, locked_until = null, updated_at = $4
      where id = $1 and state = 'running' and locked_by = $2 returning id`,
    /** Rows: [id]. */
    extendLeases: `update jobs set locked_until = $3 where ${idIn('$1')}
      and coalesce(state, '') = 'running' and locked_by = $2 returning id`,
  }
}
