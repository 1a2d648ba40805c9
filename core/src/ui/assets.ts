import { createHash } from 'node:crypto'
import { readFileSync } from 'node:fs'
import path from 'node:path'

/*
 * A theme's static files, read and hashed once at start. Requests are answered from this table
 * by exact relative path, so no request path ever reaches the filesystem (no traversal).
 */

export const IMMUTABLE = 'public, max-age=31536000, immutable'
/** A URL without the current hash may meet a changed file: let caches check again. */
export const REVALIDATE = 'public, max-age=0, must-revalidate'

const CONTENT_TYPES: Readonly<Record<string, string>> = {
  '.css': 'text/css; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.txt': 'text/plain; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.gif': 'image/gif',
  '.webp': 'image/webp',
  '.avif': 'image/avif',
  '.ico': 'image/x-icon',
  '.woff': 'font/woff',
  '.woff2': 'font/woff2',
}

export interface Asset {
  readonly body: Buffer
  readonly hash: string
  readonly contentType: string
}

/** The first 12 hex digits of the SHA-256 of a file: its cache-busting version. */
export function contentHash(body: Buffer | string): string {
  return createHash('sha256').update(body).digest('hex').slice(0, 12)
}

export class AssetTable {
  readonly #assets = new Map<string, Asset>()

  /** `prefix` is the URL folder, e.g. `/assets/default`. */
  constructor(readonly prefix: string) {}

  static fromFolder(prefix: string, dir: string, files: readonly string[]): AssetTable {
    const table = new AssetTable(prefix)
    for (const file of files) table.add(file, readFileSync(path.join(dir, file)))
    return table
  }

  add(file: string, body: Buffer): void {
    const hash = contentHash(body)
    const contentType = CONTENT_TYPES[path.extname(file).toLowerCase()] ?? 'application/octet-stream'
    this.#assets.set(file, Object.freeze({ body, hash, contentType }))
  }

  get(file: string): Asset | undefined {
    return this.#assets.get(file)
  }

  has(file: string): boolean {
    return this.#assets.has(file)
  }

  /**
   * The cache-busting URL of a file: `/assets/<theme>/<file>?v=<content hash>`. Made only of
   * `A-Z a-z 0-9 - _ . ~ % / ? =`, so it is safe in any quoted HTML attribute unescaped.
   */
  url(file: string): string {
    const asset = this.#assets.get(file)
    const encoded = file
      .split('/')
      .map(part =>
        encodeURIComponent(part).replace(/[!'()*]/g, char => `%${char.charCodeAt(0).toString(16).toUpperCase()}`),
      )
      .join('/')
    return asset ? `${this.prefix}/${encoded}?v=${asset.hash}` : `${this.prefix}/${encoded}`
  }
}
