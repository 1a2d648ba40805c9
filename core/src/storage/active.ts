import { errors } from '../errors.js'
import type { Registries } from '../kernel/registries.js'
import type {
  ObjectStorage,
  PresignedDownload,
  PresignedUpload,
  PresignPutOptions,
  StoredObject,
  StoredObjectInfo,
} from './port.js'

/** A successful readiness probe is reused this long: each one writes, reads and deletes an object. */
export const STORAGE_HEALTH_CACHE_MS = 30_000

/**
 * The driver `storage.driver` chooses, as one `ObjectStorage` that other plugins resolve under
 * `TOKENS.storage`. It is registered before any plugin's setup, so a setup may resolve it and
 * keep it; the driver behind it is chosen once every plugin has registered its own, and until
 * then (or when no driver is loaded) every call rejects with PARLEY_ERR_STORAGE_UNAVAILABLE.
 */
export class ActiveStorage implements ObjectStorage {
  #driver: ObjectStorage | undefined
  #name: string | undefined
  #chosen = false
  #origin: string | undefined

  /**
   * The origin browsers upload to and read objects from when the driver's URLs are absolute (a
   * bucket: `https://bucket.s3.example.com`), learned at start by `learnOrigin`; pages allow it
   * in their Content-Security-Policy. `undefined` for URLs on the gateway itself.
   */
  get browserOrigin(): string | undefined {
    return this.#origin
  }

  /** Signs a download URL (nothing is sent) and keeps its origin when it is absolute. */
  async learnOrigin(): Promise<void> {
    if (!this.#driver) return
    const { url } = await this.#driver.presignGet('parley-origin-probe.png', { expiresInSeconds: 60 })
    this.#origin = /^https?:\/\//i.test(url) ? new URL(url).origin : undefined
  }

  /** The chosen driver's name (`local`, `s3`), or `undefined` when none is loaded. */
  get driver(): string | undefined {
    return this.#name
  }

  /**
   * Picks the driver: the one `configured` names, else the only one registered. Registers the
   * readiness and doctor checks of the chosen one. Throws PARLEY_ERR_STORAGE_DRIVER when the
   * configured name is not registered, or when several are and none is named.
   */
  choose(configured: string | undefined, registries: Pick<Registries, 'storage' | 'health' | 'doctor'>): void {
    const names = registries.storage.list().map(entry => entry.key)
    const registered = names.length > 0 ? names.join(', ') : 'none'
    let name = configured
    if (name !== undefined && !registries.storage.has(name)) {
      throw errors.PARLEY_ERR_STORAGE_DRIVER({
        reason: `no loaded plugin registers a driver named "${name}" (registered: ${registered}); add its plugin (@parley/storage-local, @parley/storage-s3) to plugins`,
      })
    }
    if (name === undefined && names.length > 1) {
      throw errors.PARLEY_ERR_STORAGE_DRIVER({
        reason: `several drivers are loaded (${registered}); name the one to use, e.g. storage.driver: ${names[0]}`,
      })
    }
    name ??= names[0]
    this.#chosen = true
    if (name === undefined) {
      registries.doctor.register(
        'storage',
        {
          title: 'Object storage',
          run: async () => 'no driver loaded: uploads are off (add @parley/storage-local or @parley/storage-s3)',
        },
        'core',
      )
      return
    }
    const driver = registries.storage.get(name) as ObjectStorage
    this.#driver = driver
    this.#name = name
    registries.health.register(
      'storage',
      { check: cachedWhileOk(() => driver.ping(), STORAGE_HEALTH_CACHE_MS), critical: false },
      'core',
    )
    registries.doctor.register(
      'storage',
      {
        title: 'Object storage',
        run: async () => {
          await driver.ping()
          return `driver ${name}: ${driver.describe()}; a probe object was written, read back and deleted`
        },
      },
      'core',
    )
  }

  presignPut(key: string, options: PresignPutOptions): Promise<PresignedUpload> {
    return this.#active().then(driver => driver.presignPut(key, options))
  }

  presignGet(key: string, options: { readonly expiresInSeconds: number }): Promise<PresignedDownload> {
    return this.#active().then(driver => driver.presignGet(key, options))
  }

  put(key: string, body: Uint8Array, options: { readonly contentType: string }): Promise<void> {
    return this.#active().then(driver => driver.put(key, body, options))
  }

  get(key: string): Promise<StoredObject | undefined> {
    return this.#active().then(driver => driver.get(key))
  }

  head(key: string): Promise<StoredObjectInfo | undefined> {
    return this.#active().then(driver => driver.head(key))
  }

  delete(key: string): Promise<void> {
    return this.#active().then(driver => driver.delete(key))
  }

  ping(): Promise<void> {
    return this.#active().then(driver => driver.ping())
  }

  describe(): string {
    return this.#driver ? `driver ${this.#name}: ${this.#driver.describe()}` : 'no storage driver'
  }

  async #active(): Promise<ObjectStorage> {
    if (this.#driver) return this.#driver
    throw errors.PARLEY_ERR_STORAGE_UNAVAILABLE({
      reason: this.#chosen
        ? 'no storage driver is loaded (add @parley/storage-local or @parley/storage-s3 to plugins)'
        : 'the storage driver is chosen once every plugin is set up; use it from routes, jobs or start hooks',
    })
  }
}

/**
 * A check that reuses its last success for `ms` and shares one run between callers meanwhile;
 * a failure is never reused, so the next probe asks again.
 */
export function cachedWhileOk(
  check: () => Promise<void>,
  ms: number,
  now: () => number = () => performance.now(),
): () => Promise<void> {
  let okUntil = -Infinity
  let running: Promise<void> | undefined
  return () => {
    if (now() < okUntil) return Promise.resolve()
    running ??= check().then(
      () => {
        okUntil = now() + ms
        running = undefined
      },
      (error: unknown) => {
        running = undefined
        throw error
      },
    )
    return running
  }
}
