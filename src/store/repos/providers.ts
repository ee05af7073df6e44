/**
 * Providers: a team's accounts at Meta, Twilio or Turn.io. The whole config object is encrypted with
 * the SecretBox (so no secret is ever in a plain column); `extra_data` holds plain facts, and its
 * `verify_token_hash` is copied into an indexed column so Meta's GET handshake finds the provider
 * without decrypting anything. This repo knows no provider: the caller computes `extraData`.
 */
import { sql } from 'kysely'
import { isoNow, type Clock } from '../../core/clock.js'
import { newId } from '../../core/ids.js'
import { HELD_SEND_REASON } from '../../core/held-sends.js'
import { openStoredSecret, type SecretBox } from '../../core/secret-box.js'
import type { Store } from '../db.js'
import type { ProvidersTable } from '../schema.js'
import { newEvent } from '../../core/events.js'
import { emitEvents } from './events.js'

/** The provider types the store keeps (the same union as `ProviderType`). */
export type StoredProviderType = ProvidersTable['type']

/** A problem the gateway saw with a provider, or `ok`. */
export type ProviderHealthStatus = 'ok' | 'token_invalid' | 'signature_failures' | 'unsigned_webhooks'

/** The provider's health, as last recorded. */
export interface ProviderHealth {
  status: ProviderHealthStatus
  /** What was seen, for a person (e.g. Graph's message); never a secret. */
  message: string | null
  /** When the status was last recorded (ISO-8601), or null if never. */
  lastSeenAt: string | null
}

/** How a credential check went: the provider accepted, refused, or could not be asked. */
export type ProviderCheckStatus = 'ok' | 'refused' | 'unreachable'

/** One credential check (at creation, or on demand). */
export interface ProviderCheck {
  status: ProviderCheckStatus
  /** The evidence sentence, or the provider's words (never a secret). */
  message: string
  checkedAt: string
}

/** Webhooks whose signature failed, and where they came from (each request's address). */
export interface SignatureFailures {
  count: number
  lastAt: string
  lastSource: string
  /** The most recent sources (at most `SIGNATURE_FAILURE_SOURCES`), newest first. */
  sources: SignatureFailureSource[]
}

/** One address that posted webhooks whose signature failed. */
export interface SignatureFailureSource {
  address: string
  count: number
  lastAt: string
}

/** What the webhook layer saw since its last write: failures to add, and the sentence for the status. */
export interface SignatureFailuresSeen extends SignatureFailures {
  /** Why they failed, for a person (shown as the health message when the failures set the status). */
  message: string
}

/** How many sources a provider's `signatureFailures` keeps (the most recent). */
export const SIGNATURE_FAILURE_SOURCES = 10

/**
 * What the gateway last saw work (a verified webhook, a successful send, a credential check), and what
 * failed where anyone could have caused it (webhooks whose signature did not match).
 */
export interface ProviderEvidence {
  lastWebhookAt: string | null
  lastSendOkAt: string | null
  lastCheck: ProviderCheck | null
  /** Null before any failure. */
  signatureFailures: SignatureFailures | null
}

/** A provider with its decrypted config. Keep the config inside the process: never log or return it. */
export interface ProviderWithConfig {
  id: string
  teamId: string
  type: StoredProviderType
  name: string
  config: Record<string, string>
  extraData: Record<string, unknown>
  health: ProviderHealth
  evidence: ProviderEvidence
  /** Bumped on every config change; sends held for a bad token wait for a newer version. */
  configVersion: number
  createdAt: string
  updatedAt: string
}

/** A new config with the plain facts derived from it. */
export interface ProviderConfigUpdate {
  config: Record<string, string>
  extraData: Record<string, unknown>
}

/** Provider storage. */
export interface ProvidersRepo {
  /** Stores a new provider, with the credential check made before (when there was one). */
  create(input: { teamId: string; type: StoredProviderType; name: string; lastCheck?: ProviderCheck } & ProviderConfigUpdate): Promise<ProviderWithConfig>
  get(teamId: string, id: string): Promise<ProviderWithConfig | undefined>
  /** A page of the team's providers, by id. */
  list(teamId: string, page: { afterId?: string | undefined; limit: number }): Promise<ProviderWithConfig[]>
  /**
   * Changes name and/or config. A config change bumps `configVersion`, forgets the last credential check
   * (it was about the old config) and, when the health was `token_invalid`, resets it to `ok` (which
   * releases held sends). With `expectedConfigVersion`, the
   * update applies only if nobody changed the config meanwhile: `stale` tells the caller to re-read.
   */
  update(
    teamId: string,
    id: string,
    patch: { name?: string; config?: ProviderConfigUpdate; expectedConfigVersion?: number },
  ): Promise<ProviderWithConfig | 'not_found' | 'stale'>
  /** Deletes the provider unless a channel uses it. */
  delete(teamId: string, id: string): Promise<'deleted' | 'not_found' | 'in_use'>

  // --- for the message loop: not team-scoped ---
  /** The provider with its decrypted config, whatever its team. */
  findByIdWithConfig(id: string): Promise<ProviderWithConfig | undefined>
  /** The providers of these ids with their decrypted configs, in one query; ids no provider has are left out. */
  findManyWithConfig(ids: readonly string[]): Promise<ProviderWithConfig[]>
  /** Ids of the providers whose `extra_data.verify_token_hash` equals `hash` (Meta's GET handshake). */
  findIdsByVerifyTokenHash(hash: string): Promise<string[]>
  /** Ids of the providers of `type` whose account (Meta's WABA id, Twilio's account SID) is `accountId`. */
  findIdsByAccount(type: string, accountId: string): Promise<string[]>
  /** `findIdsByAccount` for many accounts in one query: each provider of `type` named, with its account. */
  findIdsByAccounts(type: string, accountIds: readonly string[]): Promise<Array<{ id: string; accountId: string }>>
  /**
   * Sets `account_id` on providers stored before it existed, from their decrypted config through
   * `accountOf` (the kind's `extraData(config).account_id`); returns how many were set. Idempotent.
   */
  backfillAccountIds(accountOf: (type: StoredProviderType, config: Record<string, string>) => string | null): Promise<number>
  /**
   * Records what the gateway saw. With `configVersion`, the record applies only while the config is
   * still that version, so a failure seen with an old token cannot mark a freshly fixed provider.
   * Returns whether a row changed.
   */
  recordHealth(
    id: string,
    status: ProviderHealthStatus,
    message: string | null,
    atIso: string,
    options?: { configVersion?: number },
  ): Promise<boolean>
  /**
   * Records a credential check; with `configVersion`, only while the config is still that version (a
   * check of an old token must not speak for a new one). Returns whether a row changed.
   */
  recordCheck(id: string, check: ProviderCheck, options?: { configVersion?: number }): Promise<boolean>
  /**
   * Moves the evidence times forward (never back: instances write in any order). A cold-path write the
   * evidence reporter makes at most once a minute per provider.
   */
  recordEvidence(id: string, seen: { lastWebhookAt?: string; lastSendOkAt?: string }): Promise<void>
  /**
   * Adds webhooks whose signature failed to the provider's evidence. They set the health status
   * (`signature_failures`, with `seen.message`) only when nothing vouches for the setup: no signed
   * webhook verified since `options.verifiedSince`, and no `token_invalid` hold (which only a config
   * change clears). Anyone who knows a number can post a failing webhook, so failures alone never mark
   * a provider whose webhooks verify. `marked` when the status is (now) `signature_failures`.
   */
  recordSignatureFailures(
    id: string,
    seen: SignatureFailuresSeen,
    options: { verifiedSince: string },
  ): Promise<'marked' | 'recorded' | 'not_found'>
}

/** A stored `signature_failures` JSON, read defensively (null when absent or unreadable). */
function readSignatureFailures(json: string | null | undefined): SignatureFailures | null {
  if (json === null || json === undefined) return null
  try {
    const stored = JSON.parse(json) as { count?: unknown; last_at?: unknown; last_source?: unknown; sources?: unknown }
    if (typeof stored.count !== 'number' || typeof stored.last_at !== 'string' || typeof stored.last_source !== 'string') return null
    const sources = Array.isArray(stored.sources) ? stored.sources : []
    return {
      count: stored.count,
      lastAt: stored.last_at,
      lastSource: stored.last_source,
      sources: sources.flatMap((source: { address?: unknown; count?: unknown; last_at?: unknown }) =>
        typeof source?.address === 'string' && typeof source.count === 'number' && typeof source.last_at === 'string'
          ? [{ address: source.address, count: source.count, lastAt: source.last_at }]
          : [],
      ),
    }
  } catch {
    return null
  }
}

/** `before` with `seen` added: counts summed, the latest time and source, the most recent sources kept. */
function mergeSignatureFailures(before: SignatureFailures | null, seen: SignatureFailures): string {
  const byAddress = new Map<string, SignatureFailureSource>()
  for (const source of [...(before?.sources ?? []), ...seen.sources]) {
    const known = byAddress.get(source.address)
    byAddress.set(
      source.address,
      known === undefined ? { ...source } : { address: source.address, count: known.count + source.count, lastAt: known.lastAt > source.lastAt ? known.lastAt : source.lastAt },
    )
  }
  const sources = [...byAddress.values()].sort((a, b) => (a.lastAt < b.lastAt ? 1 : a.lastAt > b.lastAt ? -1 : 0)).slice(0, SIGNATURE_FAILURE_SOURCES)
  const newer = before === null || seen.lastAt >= before.lastAt
  return JSON.stringify({
    count: (before?.count ?? 0) + seen.count,
    last_at: newer ? seen.lastAt : before.lastAt,
    last_source: newer ? seen.lastSource : before.lastSource,
    sources: sources.map((source) => ({ address: source.address, count: source.count, last_at: source.lastAt })),
  })
}

/** The providers repo over a store; configs are sealed and opened with `secretBox`. */
export function createProvidersRepo(deps: { store: Store; secretBox: SecretBox; clock: Clock }): ProvidersRepo {
  const { db } = deps.store

  function toProvider(row: ProvidersTable): ProviderWithConfig {
    return {
      id: row.id,
      teamId: row.team_id,
      type: row.type,
      name: row.name,
      config: JSON.parse(openStoredSecret(deps.secretBox, row.config_ciphertext, `Provider ${row.id} ("${row.name}")`)) as Record<string, string>,
      extraData: JSON.parse(row.extra_data) as Record<string, unknown>,
      health: {
        status: row.health as ProviderHealthStatus,
        message: row.health_detail,
        lastSeenAt: row.health_seen_at,
      },
      evidence: {
        lastWebhookAt: row.last_webhook_at ?? null,
        lastSendOkAt: row.last_send_ok_at ?? null,
        lastCheck:
          row.last_check_status === null || row.last_check_status === undefined || row.last_check_at === null || row.last_check_at === undefined
            ? null
            : { status: row.last_check_status as ProviderCheckStatus, message: row.last_check_message ?? '', checkedAt: row.last_check_at },
        signatureFailures: readSignatureFailures(row.signature_failures),
      },
      configVersion: Number(row.config_version),
      createdAt: row.created_at,
      updatedAt: row.updated_at,
    }
  }

  function sealed(update: ProviderConfigUpdate): Pick<ProvidersTable, 'config_ciphertext' | 'extra_data' | 'verify_token_hash' | 'account_id'> {
    const hash = update.extraData.verify_token_hash
    const account = update.extraData.account_id
    return {
      config_ciphertext: deps.secretBox.encrypt(JSON.stringify(update.config)),
      extra_data: JSON.stringify(update.extraData),
      verify_token_hash: typeof hash === 'string' ? hash : null,
      // Plain and indexed, so a webhook naming the account (Meta's WABA id) finds the provider.
      account_id: typeof account === 'string' && account !== '' ? account : null,
    }
  }

  async function findRow(teamId: string, id: string): Promise<ProvidersTable | undefined> {
    return db.selectFrom('providers').selectAll().where('id', '=', id).where('team_id', '=', teamId).executeTakeFirst()
  }

  async function channelsUsing(id: string): Promise<number> {
    const row = await db
      .selectFrom('channels')
      .select((eb) => eb.fn.countAll().as('n'))
      .where('provider_id', '=', id)
      .executeTakeFirstOrThrow()
    return Number(row.n)
  }

  return {
    async create(input) {
      const nowIso = isoNow(deps.clock)
      const row: ProvidersTable = {
        id: newId('prov', deps.clock.now()),
        team_id: input.teamId,
        type: input.type,
        name: input.name,
        ...sealed(input),
        health: 'ok',
        health_detail: null,
        health_seen_at: null,
        last_webhook_at: null,
        last_send_ok_at: null,
        last_check_status: input.lastCheck?.status ?? null,
        last_check_message: input.lastCheck?.message ?? null,
        last_check_at: input.lastCheck?.checkedAt ?? null,
        signature_failures: null,
        config_version: 1,
        created_at: nowIso,
        updated_at: nowIso,
      }
      await db.insertInto('providers').values(row).execute()
      return toProvider(row)
    },

    async get(teamId, id) {
      const row = await findRow(teamId, id)
      return row ? toProvider(row) : undefined
    },

    async list(teamId, page) {
      let query = db.selectFrom('providers').selectAll().where('team_id', '=', teamId)
      if (page.afterId !== undefined) query = query.where('id', '>', page.afterId)
      const rows = await query.orderBy('id').limit(page.limit).execute()
      return rows.map(toProvider)
    },

    async update(teamId, id, patch) {
      const current = await findRow(teamId, id)
      if (!current) return 'not_found'
      const set: Partial<ProvidersTable> = { updated_at: isoNow(deps.clock) }
      if (patch.name !== undefined) set.name = patch.name
      return db.transaction().execute(async (trx) => {
        let query = trx.updateTable('providers').where('id', '=', id).where('team_id', '=', teamId)
        if (patch.config !== undefined) {
          Object.assign(set, sealed(patch.config))
          set.config_version = Number(current.config_version) + 1
          // The last check was of the old config: it says nothing about the new one.
          set.last_check_status = null
          set.last_check_message = null
          set.last_check_at = null
          // A new config may carry the fixed token: let the held sends try it (SPEC §6, error 190).
          if (current.health === 'token_invalid') {
            set.health = 'ok'
            set.health_detail = null
            set.health_seen_at = null
          }
          // Compare-and-set on the version read above, so two PATCHes never silently drop one's change.
          query = query.where('config_version', '=', patch.expectedConfigVersion ?? current.config_version)
        } else if (patch.expectedConfigVersion !== undefined) {
          query = query.where('config_version', '=', patch.expectedConfigVersion)
        }
        const result = await query.set(set).executeTakeFirst()
        if (Number(result.numUpdatedRows) === 0) {
          const still = await trx.selectFrom('providers').select('id').where('id', '=', id).where('team_id', '=', teamId).executeTakeFirst()
          return still ? 'stale' : 'not_found'
        }
        if (set.health === 'ok') {
          // Held sends back off to minutes apart (core/held-sends.ts): wake the team's now, not then. A
          // send held by another of the team's providers that is still refused is only held again.
          await trx
            .updateTable('jobs')
            .set({ run_at: set.updated_at! })
            .where('queue', '=', 'main')
            .where('state', '=', 'pending')
            .where('team_id', '=', teamId)
            .where('last_error', '=', HELD_SEND_REASON)
            .where('run_at', '>', set.updated_at!)
            .execute()
          const health = { status: 'ok', message: null, lastSeenAt: null }
          await emitEvents(trx, [newEvent('provider.health_changed', teamId, { kind: 'provider', providerId: id, health }, deps.clock.now())])
        }
        const updated = await trx.selectFrom('providers').selectAll().where('id', '=', id).executeTakeFirst()
        return updated ? toProvider(updated) : 'not_found'
      })
    },

    async delete(teamId, id) {
      const current = await findRow(teamId, id)
      if (!current) return 'not_found'
      if ((await channelsUsing(id)) > 0) return 'in_use'
      try {
        const result = await db.deleteFrom('providers').where('id', '=', id).where('team_id', '=', teamId).executeTakeFirst()
        return Number(result.numDeletedRows) > 0 ? 'deleted' : 'not_found'
      } catch (error) {
        // A channel created between the check and the delete makes the foreign key refuse it.
        if ((await channelsUsing(id)) > 0) return 'in_use'
        throw error
      }
    },

    async findByIdWithConfig(id) {
      const row = await db.selectFrom('providers').selectAll().where('id', '=', id).executeTakeFirst()
      return row ? toProvider(row) : undefined
    },

    async findManyWithConfig(ids) {
      if (ids.length === 0) return []
      const rows = await db.selectFrom('providers').selectAll().where('id', 'in', [...ids]).execute()
      return rows.map(toProvider)
    },

    async findIdsByVerifyTokenHash(hash) {
      const rows = await db
        .selectFrom('providers')
        .select('id')
        .where('verify_token_hash', '=', hash)
        .orderBy('id')
        .execute()
      return rows.map((row) => row.id)
    },

    async findIdsByAccount(type, accountId) {
      const rows = await db
        .selectFrom('providers')
        .select('id')
        .where('account_id', '=', accountId)
        .where('type', '=', type as StoredProviderType)
        .orderBy('id')
        .execute()
      return rows.map((row) => row.id)
    },

    async findIdsByAccounts(type, accountIds) {
      if (accountIds.length === 0) return []
      const rows = await db
        .selectFrom('providers')
        .select(['id', 'account_id'])
        .where('account_id', 'in', [...accountIds])
        .where('type', '=', type as StoredProviderType)
        .orderBy('id')
        .execute()
      return rows.flatMap((row) => (row.account_id === null ? [] : [{ id: row.id, accountId: row.account_id }]))
    },

    async backfillAccountIds(accountOf) {
      const rows = await db.selectFrom('providers').selectAll().where('account_id', 'is', null).execute()
      let set = 0
      for (const row of rows) {
        let config: Record<string, string>
        try {
          config = JSON.parse(deps.secretBox.decrypt(row.config_ciphertext)) as Record<string, string>
        } catch {
          // A config sealed with a key no longer configured: left as it is; its webhooks stay unrouted.
          continue
        }
        const account = accountOf(row.type, config)
        if (account === null || account === '') continue
        const extraData = { ...(JSON.parse(row.extra_data) as Record<string, unknown>), account_id: account }
        // `account_id is null` again, so two instances starting together set it once, to the same value.
        const result = await db
          .updateTable('providers')
          .set({ account_id: account, extra_data: JSON.stringify(extraData) })
          .where('id', '=', row.id)
          .where('account_id', 'is', null)
          .executeTakeFirst()
        set += Number(result.numUpdatedRows)
      }
      return set
    },

    async recordHealth(id, status, message, atIso, options = {}) {
      // The change of status and its `provider.health_changed` event commit together; a repeat of the
      // same status only refreshes when it was seen.
      return db.transaction().execute(async (trx) => {
        const before = await trx.selectFrom('providers').select(['team_id', 'health']).where('id', '=', id).executeTakeFirst()
        if (!before) return false
        let query = trx
          .updateTable('providers')
          .set({ health: status, health_detail: message, health_seen_at: atIso })
          .where('id', '=', id)
        if (options.configVersion !== undefined) query = query.where('config_version', '=', options.configVersion)
        const result = await query.executeTakeFirst()
        const changed = Number(result.numUpdatedRows) > 0
        if (changed && before.health !== status) {
          const health = { status, message, lastSeenAt: atIso }
          await emitEvents(trx, [newEvent('provider.health_changed', before.team_id, { kind: 'provider', providerId: id, health }, deps.clock.now())])
        }
        return changed
      })
    },

    async recordCheck(id, check, options = {}) {
      let query = db
        .updateTable('providers')
        .set({ last_check_status: check.status, last_check_message: check.message, last_check_at: check.checkedAt })
        .where('id', '=', id)
      if (options.configVersion !== undefined) query = query.where('config_version', '=', options.configVersion)
      const result = await query.executeTakeFirst()
      return Number(result.numUpdatedRows) > 0
    },

    async recordEvidence(id, seen) {
      // ISO-8601 UTC text sorts as time, on both dialects.
      const later = (column: 'last_webhook_at' | 'last_send_ok_at', at: string) =>
        sql<string>`case when ${sql.ref(column)} is null or ${sql.ref(column)} < ${at} then ${at} else ${sql.ref(column)} end`
      const set: { last_webhook_at?: ReturnType<typeof later>; last_send_ok_at?: ReturnType<typeof later> } = {}
      if (seen.lastWebhookAt !== undefined) set.last_webhook_at = later('last_webhook_at', seen.lastWebhookAt)
      if (seen.lastSendOkAt !== undefined) set.last_send_ok_at = later('last_send_ok_at', seen.lastSendOkAt)
      if (Object.keys(set).length === 0) return
      if (seen.lastWebhookAt === undefined) {
        await db.updateTable('providers').set(set).where('id', '=', id).execute()
        return
      }
      const verifiedAt = seen.lastWebhookAt
      await db.transaction().execute(async (trx) => {
        await trx.updateTable('providers').set(set).where('id', '=', id).execute()
        // A signed webhook verified: the setup works, whatever failed before it (forged posts, or a
        // secret since fixed). The change and its event commit together.
        const cleared = await trx
          .updateTable('providers')
          .set({ health: 'ok', health_detail: null, health_seen_at: verifiedAt })
          .where('id', '=', id)
          .where('health', '=', 'signature_failures')
          .executeTakeFirst()
        if (Number(cleared.numUpdatedRows) === 0) return
        const row = await trx.selectFrom('providers').select('team_id').where('id', '=', id).executeTakeFirstOrThrow()
        const health = { status: 'ok', message: null, lastSeenAt: verifiedAt }
        await emitEvents(trx, [newEvent('provider.health_changed', row.team_id, { kind: 'provider', providerId: id, health }, deps.clock.now())])
      })
    },

    async recordSignatureFailures(id, seen, options) {
      // Compare-and-set on what was read, retried: instances add their failures in any order, and a
      // verified webhook or a token_invalid recorded meanwhile is seen before the status is decided.
      for (let attempt = 0; ; attempt++) {
        const outcome = await db.transaction().execute(async (trx) => {
          const before = await trx
            .selectFrom('providers')
            .select(['team_id', 'health', 'signature_failures', 'last_webhook_at'])
            .where('id', '=', id)
            .executeTakeFirst()
          if (!before) return 'not_found' as const
          const verifiedRecently = before.last_webhook_at !== null && before.last_webhook_at >= options.verifiedSince
          const mark = before.health !== 'token_invalid' && !verifiedRecently
          const set: Partial<ProvidersTable> = { signature_failures: mergeSignatureFailures(readSignatureFailures(before.signature_failures), seen) }
          if (mark) Object.assign(set, { health: 'signature_failures', health_detail: seen.message, health_seen_at: seen.lastAt })
          let query = trx.updateTable('providers').set(set).where('id', '=', id).where('health', '=', before.health)
          query = before.signature_failures === null ? query.where('signature_failures', 'is', null) : query.where('signature_failures', '=', before.signature_failures)
          query = before.last_webhook_at === null ? query.where('last_webhook_at', 'is', null) : query.where('last_webhook_at', '=', before.last_webhook_at)
          const result = await query.executeTakeFirst()
          if (Number(result.numUpdatedRows) === 0) return 'changed' as const
          if (mark && before.health !== 'signature_failures') {
            const health = { status: 'signature_failures', message: seen.message, lastSeenAt: seen.lastAt }
            await emitEvents(trx, [newEvent('provider.health_changed', before.team_id, { kind: 'provider', providerId: id, health }, deps.clock.now())])
          }
          return mark ? ('marked' as const) : ('recorded' as const)
        })
        if (outcome !== 'changed') return outcome
        // Bounded: the caller keeps these failures and adds them with its next write.
        if (attempt >= 4) throw new Error(`Provider ${id} changed under ${attempt + 1} attempts to record signature failures.`)
      }
    },
  }
}
