/**
 * API tokens. A token is `sb_` + 32 random bytes in base64url; only its sha256 (hex) is stored, so a
 * leaked database does not leak working tokens. Tokens are revoked, never deleted, so the list keeps
 * their history and bootstrap can tell "never had a token" from "had one".
 */
import { createHash, randomBytes } from 'node:crypto'
import { isoNow, type Clock } from '../../core/clock.js'
import { newId } from '../../core/ids.js'
import type { Store } from '../db.js'
import type { ApiTokensTable } from '../schema.js'

/** What a token may do inside its team (see api/auth.ts for the rules). */
export type TokenRole = 'admin' | 'member'

/** A token's record; the token itself is never kept. */
export interface ApiToken {
  id: string
  teamId: string
  name: string
  role: TokenRole
  createdAt: string
  revokedAt: string | null
}

/** The stored form of a token: sha256 hex. */
export function hashToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex')
}

/** A fresh token: `sb_` + 32 random bytes, base64url. */
export function generateToken(): string {
  return `sb_${randomBytes(32).toString('base64url')}`
}

/** Token storage. */
export interface TokensRepo {
  /** Creates a token; the plain token is returned only here. */
  create(input: { teamId: string; name: string; role: TokenRole }): Promise<{ record: ApiToken; token: string }>
  /**
   * Inserts a token whose hash the caller already knows (bootstrap). Returns false, without error,
   * when the id or the hash already exists: another instance won the race, or the token is known.
   */
  insertHashed(input: { id?: string; teamId: string; name: string; role: TokenRole; tokenHash: string }): Promise<boolean>
  /** The token with this hash, revoked or not. */
  findByHash(tokenHash: string): Promise<ApiToken | undefined>
  get(id: string): Promise<ApiToken | undefined>
  /** A page of a team's tokens (revoked ones included), by id. */
  list(teamId: string, page: { afterId?: string | undefined; limit: number }): Promise<ApiToken[]>
  /** How many tokens (revoked ones included) a team has ever had. */
  countForTeam(teamId: string): Promise<number>
  /** Marks the token revoked; revoking twice keeps the first time. */
  revoke(id: string): Promise<ApiToken | undefined>
  /** Revokes the team's live tokens of this name except the one with `keepHash`; returns their ids. */
  revokeNamedExcept(teamId: string, name: string, keepHash: string): Promise<string[]>
}

function toToken(row: ApiTokensTable): ApiToken {
  return { id: row.id, teamId: row.team_id, name: row.name, role: row.role, createdAt: row.created_at, revokedAt: row.revoked_at }
}

/** The tokens repo over a store. */
export function createTokensRepo(deps: { store: Store; clock: Clock }): TokensRepo {
  const { db } = deps.store
  return {
    async create(input) {
      const token = generateToken()
      const row: ApiTokensTable = {
        id: newId('tok', deps.clock.now()),
        team_id: input.teamId,
        name: input.name,
        role: input.role,
        token_hash: hashToken(token),
        created_at: isoNow(deps.clock),
        revoked_at: null,
      }
      await db.insertInto('api_tokens').values(row).execute()
      return { record: toToken(row), token }
    },

    async insertHashed(input) {
      const result = await db
        .insertInto('api_tokens')
        .values({
          id: input.id ?? newId('tok', deps.clock.now()),
          team_id: input.teamId,
          name: input.name,
          role: input.role,
          token_hash: input.tokenHash,
          created_at: isoNow(deps.clock),
          revoked_at: null,
        })
        .onConflict((oc) => oc.doNothing())
        .executeTakeFirst()
      return Number(result.numInsertedOrUpdatedRows ?? 0) > 0
    },

    async findByHash(tokenHash) {
      const row = await db.selectFrom('api_tokens').selectAll().where('token_hash', '=', tokenHash).executeTakeFirst()
      return row ? toToken(row) : undefined
    },

    async get(id) {
      const row = await db.selectFrom('api_tokens').selectAll().where('id', '=', id).executeTakeFirst()
      return row ? toToken(row) : undefined
    },

    async list(teamId, page) {
      let query = db.selectFrom('api_tokens').selectAll().where('team_id', '=', teamId)
      if (page.afterId !== undefined) query = query.where('id', '>', page.afterId)
      const rows = await query.orderBy('id').limit(page.limit).execute()
      return rows.map(toToken)
    },

    async countForTeam(teamId) {
      const row = await db
        .selectFrom('api_tokens')
        .select((eb) => eb.fn.countAll().as('n'))
        .where('team_id', '=', teamId)
        .executeTakeFirstOrThrow()
      return Number(row.n)
    },

    async revokeNamedExcept(teamId, name, keepHash) {
      const rows = await db
        .updateTable('api_tokens')
        .set({ revoked_at: isoNow(deps.clock) })
        .where('team_id', '=', teamId)
        .where('name', '=', name)
        .where('token_hash', '<>', keepHash)
        .where('revoked_at', 'is', null)
        .returning('id')
        .execute()
      return rows.map((row) => row.id)
    },

    async revoke(id) {
      await db
        .updateTable('api_tokens')
        .set({ revoked_at: isoNow(deps.clock) })
        .where('id', '=', id)
        .where('revoked_at', 'is', null)
        .execute()
      const row = await db.selectFrom('api_tokens').selectAll().where('id', '=', id).executeTakeFirst()
      return row ? toToken(row) : undefined
    },
  }
}
