/**
 * What the hot path's logic needs of a database connection: run one fixed SQL text (`$1, $2, …`
 * parameters) with values. Each dialect implements it over its driver and prepares each text once per
 * connection. Calls made inside one `FlowStore` operation share that operation's transaction.
 */
export interface SqlExecutor {
  /** The rows of a query, or of a write with `returning`. */
  all<Row>(sql: string, params: readonly unknown[]): Promise<Row[]>
  /** The number of rows a write changed. */
  run(sql: string, params: readonly unknown[]): Promise<number>
}
