/**
 * Teams: the tenants. Everything else belongs to one. Team `default` has a fixed id, so several
 * instances starting at once on one PostgreSQL database all create (or find) the same row.
 */
import { isoNow, type Clock } from '../../core/clock.js'
import { newId } from '../../core/ids.js'
import type { Store } from '../db.js'
import type { TeamsTable } from '../schema.js'

/** Id of the bootstrap team; its admin tokens may create and see every team. */
export const DEFAULT_TEAM_ID = 'team_default'
/** Name of the bootstrap team. */
export const DEFAULT_TEAM_NAME = 'default'

/** A team as the API sees it. */
export interface Team {
  id: string
  name: string
  createdAt: string
}

/** Team storage. */
export interface TeamsRepo {
  /** Creates a team; `name_taken` when a team of that name exists (names are compared exactly). */
  create(name: string): Promise<Team | 'name_taken'>
  /** Creates team `default` unless it exists; safe to race with other instances. */
  ensureDefault(): Promise<void>
  get(id: string): Promise<Team | undefined>
  /** A page of every team, by id. */
  list(page: { afterId?: string | undefined; limit: number }): Promise<Team[]>
}

function toTeam(row: TeamsTable): Team {
  return { id: row.id, name: row.name, createdAt: row.created_at }
}

/** The teams repo over a store. */
export function createTeamsRepo(deps: { store: Store; clock: Clock }): TeamsRepo {
  const { db } = deps.store
  return {
    async create(name) {
      const nowMs = deps.clock.now()
      const row: TeamsTable = { id: newId('team', nowMs), name, created_at: isoNow(deps.clock) }
      // No unique index on name (the schema predates the rule), so check and insert in one transaction;
      // two simultaneous creations of one name on PostgreSQL can still both pass, which is harmless.
      return db.transaction().execute(async (trx) => {
        const taken = await trx.selectFrom('teams').select('id').where('name', '=', name).executeTakeFirst()
        if (taken) return 'name_taken' as const
        await trx.insertInto('teams').values(row).execute()
        return toTeam(row)
      })
    },

    async ensureDefault() {
      await db
        .insertInto('teams')
        .values({ id: DEFAULT_TEAM_ID, name: DEFAULT_TEAM_NAME, created_at: isoNow(deps.clock) })
        .onConflict((oc) => oc.column('id').doNothing())
        .execute()
    },

    async get(id) {
      const row = await db.selectFrom('teams').selectAll().where('id', '=', id).executeTakeFirst()
      return row ? toTeam(row) : undefined
    },

    async list(page) {
      let query = db.selectFrom('teams').selectAll()
      if (page.afterId !== undefined) query = query.where('id', '>', page.afterId)
      const rows = await query.orderBy('id').limit(page.limit).execute()
      return rows.map(toTeam)
    },
  }
}
