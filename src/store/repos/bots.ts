/**
 * Bots: what answers a channel's messages. The config (an `http` bot's url and signing secret) is
 * encrypted like a provider's; an `echo` bot has none.
 */
import { isoNow, type Clock } from '../../core/clock.js'
import { newId } from '../../core/ids.js'
import { openStoredSecret, type SecretBox } from '../../core/secret-box.js'
import type { Store } from '../db.js'
import type { BotsTable } from '../schema.js'
import { newEvent } from '../../core/events.js'
import { emitEvents } from './events.js'

/** The bot types the store keeps. */
export type StoredBotType = BotsTable['type']

/** A bot with its decrypted config (`{}` for an echo bot). Never log or return the config as is. */
export interface BotWithConfig {
  id: string
  teamId: string
  name: string
  type: StoredBotType
  /** Decrypted config JSON: flat strings for `http`, nested values (voice settings, numbers) for `llm`. */
  config: Record<string, string>
  /** What the bot's last call showed (SPEC: from its first failed attempt on). */
  health: { status: string; message: string | null; lastSeenAt: string | null }
  createdAt: string
  updatedAt: string
}

/** Bot storage. */
export interface BotsRepo {
  create(input: { teamId: string; name: string; type: StoredBotType; config: Record<string, string> }): Promise<BotWithConfig>
  get(teamId: string, id: string): Promise<BotWithConfig | undefined>
  /** A page of the team's bots, by id. */
  list(teamId: string, page: { afterId?: string | undefined; limit: number }): Promise<BotWithConfig[]>
  update(teamId: string, id: string, patch: { name?: string; config?: Record<string, string> }): Promise<BotWithConfig | undefined>
  /** Deletes the bot unless a channel uses it. */
  delete(teamId: string, id: string): Promise<'deleted' | 'not_found' | 'in_use'>

  /**
   * Records what a call of the bot showed; the new config version resets nothing (a fixed bot shows ok
   * on its next answer). Not team-scoped: the message loop calls it.
   */
  recordHealth(id: string, status: string, message: string | null): Promise<void>

  // --- for the message loop: not team-scoped ---
  /** The bot with its decrypted config, whatever its team. */
  findByIdWithConfig(id: string): Promise<BotWithConfig | undefined>
}

/** The bots repo over a store; configs are sealed and opened with `secretBox`. */
export function createBotsRepo(deps: { store: Store; secretBox: SecretBox; clock: Clock }): BotsRepo {
  const { db } = deps.store

  function toBot(row: BotsTable): BotWithConfig {
    return {
      id: row.id,
      teamId: row.team_id,
      name: row.name,
      type: row.type,
      config: row.config_ciphertext === null ? {} : (JSON.parse(openStoredSecret(deps.secretBox, row.config_ciphertext, `Bot ${row.id} ("${row.name}")`)) as Record<string, string>),
      health: { status: row.health ?? 'ok', message: row.health_detail ?? null, lastSeenAt: row.health_seen_at ?? null },
      createdAt: row.created_at,
      updatedAt: row.updated_at,
    }
  }

  function seal(config: Record<string, unknown>): string | null {
    return Object.keys(config).length === 0 ? null : deps.secretBox.encrypt(JSON.stringify(config))
  }

  async function findRow(teamId: string, id: string): Promise<BotsTable | undefined> {
    return db.selectFrom('bots').selectAll().where('id', '=', id).where('team_id', '=', teamId).executeTakeFirst()
  }

  async function channelsUsing(id: string): Promise<number> {
    const row = await db
      .selectFrom('channels')
      .select((eb) => eb.fn.countAll().as('n'))
      .where('bot_id', '=', id)
      .executeTakeFirstOrThrow()
    return Number(row.n)
  }

  return {
    async create(input) {
      const nowIso = isoNow(deps.clock)
      const row: BotsTable = {
        id: newId('bot', deps.clock.now()),
        team_id: input.teamId,
        name: input.name,
        type: input.type,
        config_ciphertext: seal(input.config),
        health: null,
        health_detail: null,
        health_seen_at: null,
        created_at: nowIso,
        updated_at: nowIso,
      }
      await db.insertInto('bots').values(row).execute()
      return toBot(row)
    },

    async get(teamId, id) {
      const row = await findRow(teamId, id)
      return row ? toBot(row) : undefined
    },

    async list(teamId, page) {
      let query = db.selectFrom('bots').selectAll().where('team_id', '=', teamId)
      if (page.afterId !== undefined) query = query.where('id', '>', page.afterId)
      const rows = await query.orderBy('id').limit(page.limit).execute()
      return rows.map(toBot)
    },

    async update(teamId, id, patch) {
      const set: Partial<BotsTable> = { updated_at: isoNow(deps.clock) }
      if (patch.name !== undefined) set.name = patch.name
      if (patch.config !== undefined) set.config_ciphertext = seal(patch.config)
      const result = await db.updateTable('bots').set(set).where('id', '=', id).where('team_id', '=', teamId).executeTakeFirst()
      if (Number(result.numUpdatedRows) === 0) return undefined
      const row = await findRow(teamId, id)
      return row ? toBot(row) : undefined
    },

    async delete(teamId, id) {
      if (!(await findRow(teamId, id))) return 'not_found'
      if ((await channelsUsing(id)) > 0) return 'in_use'
      try {
        const result = await db.deleteFrom('bots').where('id', '=', id).where('team_id', '=', teamId).executeTakeFirst()
        return Number(result.numDeletedRows) > 0 ? 'deleted' : 'not_found'
      } catch (error) {
        // A channel attached between the check and the delete makes the foreign key refuse it.
        if ((await channelsUsing(id)) > 0) return 'in_use'
        throw error
      }
    },

    async recordHealth(id, status, message) {
      const nowIso = isoNow(deps.clock)
      // The change of status and its `bot.health_changed` event commit together (a bot never called shows `ok`).
      await db.transaction().execute(async (trx) => {
        const before = await trx.selectFrom('bots').select(['team_id', 'health']).where('id', '=', id).executeTakeFirst()
        if (!before) return
        await trx.updateTable('bots').set({ health: status, health_detail: message, health_seen_at: nowIso }).where('id', '=', id).execute()
        if ((before.health ?? 'ok') === status) return
        const health = { status, message, lastSeenAt: nowIso }
        await emitEvents(trx, [newEvent('bot.health_changed', before.team_id, { kind: 'bot', botId: id, health }, deps.clock.now())])
      })
    },

    async findByIdWithConfig(id) {
      const row = await db.selectFrom('bots').selectAll().where('id', '=', id).executeTakeFirst()
      return row ? toBot(row) : undefined
    },
  }
}
