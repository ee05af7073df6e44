/**
 * Channels: one WhatsApp number of a provider, connected to one bot. Where the number is unique is its
 * scope (the provider kind's `numberScope`, stored as `number_scope`: `''` for the gateway, or the team's
 * id): a number whose webhooks are routed by it (Meta, Twilio) serves one channel in the gateway, and so
 * does (provider type, from identifier), which is how those webhooks are routed with one index lookup; a
 * number of a provider that gives each channel its own webhook URL (Turn.io) is unique within its team
 * only. A team holds a number on one channel at most, whatever the provider. Unique indexes keep all of
 * it (migration 0010). Deleting a channel deletes its conversations and messages with it, in one
 * transaction.
 */
import type { Insertable, Selectable } from 'kysely'
import { isoNow, type Clock } from '../../core/clock.js'
import { newId } from '../../core/ids.js'
import type { Store } from '../db.js'
import { readChannelSettings, type ChannelSettings } from '../../core/channel-settings.js'
import type { ChannelsTable } from '../schema.js'

/**
 * Where a channel's number is unique: `global` (in the gateway; its webhooks are routed by the number) or
 * `team` (in its team; each channel has its own webhook URL). The provider kind declares it.
 */
export type NumberScope = 'global' | 'team'

/** A channel as the API and the message loop see it. */
export interface Channel {
  id: string
  teamId: string
  botId: string
  providerId: string
  /** Copied from the provider at creation (a provider's type never changes). */
  providerType: string
  platform: string
  /** E.164. */
  number: string
  /** Where the number is unique (fixed at creation, from the provider kind). */
  numberScope: NumberScope
  name: string
  /** Meta `phone_number_id`; Twilio and Turn.io the E.164 number. */
  fromIdentifier: string
  enabled: boolean
  disabledMessage: string | null
  /** Sends per second for this number; null = the provider's default. */
  throughputMps: number | null
  /** Read receipt + typing indicator when the bot starts; null = on where the provider has one. */
  typingIndicator: boolean | null
  /** Messaging settings with defaults applied (out-of-window template, opt-out keywords and replies). */
  settings: ChannelSettings
  /** The stored settings JSON (null = all defaults), for merging a PATCH. */
  settingsJson: string | null
  extraData: Record<string, unknown>
  createdAt: string
  updatedAt: string
}

/** What may change on a channel after creation. */
export interface ChannelPatch {
  botId?: string
  name?: string
  enabled?: boolean
  disabledMessage?: string | null
  throughputMps?: number | null
  typingIndicator?: boolean | null
  /** The whole new settings JSON (core/channel-settings.ts `mergeChannelSettings`). */
  settingsJson?: string
}

/** Channel storage. */
export interface ChannelsRepo {
  /**
   * Creates a channel. `number_in_use` when the number (or its from identifier) is taken in its scope
   * or in the team, including by a concurrent creation; `reference_missing` when the bot or provider
   * vanished meanwhile.
   */
  create(input: {
    teamId: string
    botId: string
    providerId: string
    providerType: string
    number: string
    /** The provider kind's `numberScope`; `global` (the strict one) when not given. */
    numberScope?: NumberScope
    name: string
    fromIdentifier: string
    extraData: Record<string, unknown>
  }): Promise<Channel | 'number_in_use' | 'reference_missing'>
  get(teamId: string, id: string): Promise<Channel | undefined>
  /** A page of the team's channels, by id. */
  list(teamId: string, page: { afterId?: string | undefined; limit: number }): Promise<Channel[]>
  /**
   * The channel that keeps `teamId` from connecting the E.164 `number` with a provider of `scope`: the
   * team's own channel of the number (any provider), else, for a `global` number, the channel of any
   * team holding it as a `global` one. Another team's `team`-scoped channels never stand in the way, and
   * a `team`-scoped claim never stands in another team's way.
   */
  findNumberHolder(teamId: string, number: string, scope: NumberScope): Promise<Channel | undefined>
  /** `reference_missing` when the new bot vanished meanwhile. */
  update(teamId: string, id: string, patch: ChannelPatch): Promise<Channel | 'not_found' | 'reference_missing'>
  /** Deletes the channel with its conversations and messages; false when it is not the team's. */
  delete(teamId: string, id: string): Promise<boolean>

  // --- for the message loop: not team-scoped ---
  /**
   * The channel a webhook names by number: Meta by `phone_number_id`, Twilio by E.164 number. Only
   * `global` channels are routed by number (a `team` one, Turn.io's, by its own URL: `findById`), so
   * the answer is one channel at most.
   */
  findByRoute(providerType: string, fromIdentifier: string): Promise<Channel | undefined>
  /**
   * `findByRoute` for many identifiers in one query (`from_identifier in (…)`, on the unique index):
   * the channels found, in no particular order; identifiers no channel has are left out. The caller
   * keeps the list within the dialect's parameter limit (SQLite 32,766; routing asks in chunks).
   */
  findByRoutes(providerType: string, fromIdentifiers: readonly string[]): Promise<Channel[]>
  findById(id: string): Promise<Channel | undefined>
}

/** The stored `number_scope` of a channel of `teamId`: `''` for the gateway, else the team. */
function scopeKey(scope: NumberScope, teamId: string): string {
  return scope === 'global' ? '' : teamId
}

function toChannel(row: Selectable<ChannelsTable>): Channel {
  return {
    id: row.id,
    teamId: row.team_id,
    botId: row.bot_id,
    providerId: row.provider_id,
    providerType: row.provider_type,
    platform: row.platform,
    number: row.number,
    numberScope: row.number_scope === '' ? 'global' : 'team',
    name: row.name,
    fromIdentifier: row.from_identifier,
    enabled: Number(row.enabled) === 1,
    disabledMessage: row.disabled_message,
    throughputMps: row.throughput_mps === null ? null : Number(row.throughput_mps),
    typingIndicator: row.typing_indicator === null || row.typing_indicator === undefined ? null : Number(row.typing_indicator) === 1,
    settings: readChannelSettings(row.settings ?? null),
    settingsJson: row.settings ?? null,
    extraData: JSON.parse(row.extra_data) as Record<string, unknown>,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  }
}

/** The channels repo over a store. */
export function createChannelsRepo(deps: { store: Store; clock: Clock }): ChannelsRepo {
  const { db } = deps.store

  async function findRow(teamId: string, id: string): Promise<Selectable<ChannelsTable> | undefined> {
    return db.selectFrom('channels').selectAll().where('id', '=', id).where('team_id', '=', teamId).executeTakeFirst()
  }

  async function botExists(teamId: string, botId: string): Promise<boolean> {
    const row = await db.selectFrom('bots').select('id').where('id', '=', botId).where('team_id', '=', teamId).executeTakeFirst()
    return row !== undefined
  }

  return {
    async create(input) {
      const nowIso = isoNow(deps.clock)
      const row = {
        id: newId('chan', deps.clock.now()),
        team_id: input.teamId,
        bot_id: input.botId,
        provider_id: input.providerId,
        provider_type: input.providerType,
        platform: 'whatsapp',
        number: input.number,
        number_scope: scopeKey(input.numberScope ?? 'global', input.teamId),
        name: input.name,
        extra_data: JSON.stringify(input.extraData),
        from_identifier: input.fromIdentifier,
        enabled: 1,
        disabled_message: null,
        throughput_mps: null,
        last_webhook_at: null,
        typing_indicator: null,
        settings: null,
        created_at: nowIso,
        updated_at: nowIso,
      } satisfies Insertable<ChannelsTable>
      try {
        await db.insertInto('channels').values(row).execute()
      } catch (error) {
        // The unique indexes on (number, scope), (team, number) and (provider type, from identifier,
        // scope) are the real guard against two concurrent creations of one number; the API's earlier
        // check is for the message.
        if (deps.store.isUniqueViolation(error)) return 'number_in_use'
        const provider = await db.selectFrom('providers').select('id').where('id', '=', input.providerId).executeTakeFirst()
        if (!provider || !(await botExists(input.teamId, input.botId))) return 'reference_missing'
        throw error
      }
      return toChannel(row)
    },

    async get(teamId, id) {
      const row = await findRow(teamId, id)
      return row ? toChannel(row) : undefined
    },

    async list(teamId, page) {
      let query = db.selectFrom('channels').selectAll().where('team_id', '=', teamId)
      if (page.afterId !== undefined) query = query.where('id', '>', page.afterId)
      const rows = await query.orderBy('id').limit(page.limit).execute()
      return rows.map(toChannel)
    },

    async findNumberHolder(teamId, number, scope) {
      // Each question on its unique index: (team_id, number), then (number, number_scope).
      const own = await db.selectFrom('channels').selectAll().where('team_id', '=', teamId).where('number', '=', number).executeTakeFirst()
      if (own) return toChannel(own)
      if (scope !== 'global') return undefined
      const routed = await db.selectFrom('channels').selectAll().where('number', '=', number).where('number_scope', '=', '').executeTakeFirst()
      return routed ? toChannel(routed) : undefined
    },

    async update(teamId, id, patch) {
      const set: Partial<Selectable<ChannelsTable>> = { updated_at: isoNow(deps.clock) }
      if (patch.botId !== undefined) set.bot_id = patch.botId
      if (patch.name !== undefined) set.name = patch.name
      if (patch.enabled !== undefined) set.enabled = patch.enabled ? 1 : 0
      if (patch.disabledMessage !== undefined) set.disabled_message = patch.disabledMessage
      if (patch.throughputMps !== undefined) set.throughput_mps = patch.throughputMps
      if (patch.settingsJson !== undefined) set.settings = patch.settingsJson
      if (patch.typingIndicator !== undefined) set.typing_indicator = patch.typingIndicator === null ? null : patch.typingIndicator ? 1 : 0
      try {
        const result = await db.updateTable('channels').set(set).where('id', '=', id).where('team_id', '=', teamId).executeTakeFirst()
        if (Number(result.numUpdatedRows) === 0) return 'not_found'
      } catch (error) {
        // The new bot was deleted between the API's check and this update.
        if (patch.botId !== undefined && !(await botExists(teamId, patch.botId))) return 'reference_missing'
        throw error
      }
      const row = await findRow(teamId, id)
      return row ? toChannel(row) : 'not_found'
    },

    async delete(teamId, id) {
      return db.transaction().execute(async (trx) => {
        const row = await trx.selectFrom('channels').select('id').where('id', '=', id).where('team_id', '=', teamId).executeTakeFirst()
        if (!row) return false
        // Children first: messages reference conversations, both reference the channel.
        await trx.deleteFrom('messages').where('channel_id', '=', id).execute()
        await trx.deleteFrom('conversations').where('channel_id', '=', id).execute()
        await trx.deleteFrom('channels').where('id', '=', id).execute()
        return true
      })
    },

    async findByRoute(providerType, fromIdentifier) {
      const row = await db
        .selectFrom('channels')
        .selectAll()
        .where('provider_type', '=', providerType)
        .where('from_identifier', '=', fromIdentifier)
        .where('number_scope', '=', '')
        .executeTakeFirst()
      return row ? toChannel(row) : undefined
    },

    async findByRoutes(providerType, fromIdentifiers) {
      if (fromIdentifiers.length === 0) return []
      const rows = await db
        .selectFrom('channels')
        .selectAll()
        .where('provider_type', '=', providerType)
        .where('from_identifier', 'in', [...fromIdentifiers])
        .where('number_scope', '=', '')
        .execute()
      return rows.map(toChannel)
    },

    async findById(id) {
      const row = await db.selectFrom('channels').selectAll().where('id', '=', id).executeTakeFirst()
      return row ? toChannel(row) : undefined
    },
  }
}
