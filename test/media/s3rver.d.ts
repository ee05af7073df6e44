/** The little of s3rver's API the S3 tests use (the package ships no types). */
declare module 's3rver' {
  import type { AddressInfo } from 'node:net'
  import type { Server } from 'node:http'

  interface S3rverOptions {
    address?: string
    port?: number
    directory: string
    silent?: boolean
    resetOnClose?: boolean
  }

  class S3rver {
    constructor(options: S3rverOptions)
    httpServer: Server | undefined
    run(): Promise<AddressInfo>
    close(): Promise<void>
  }

  export = S3rver
}
