import path from 'node:path'
import { definePlugin, Type } from '@parley/core'
import { LocalStorage } from './driver.js'
import { installStorageRoutes } from './routes.js'
import { UrlSigner } from './signer.js'

export { LocalStorage, PROBE_PREFIX, ROUTE_PREFIX, type LocalStorageOptions, type UploadGrant } from './driver.js'
export { localErrors } from './errors.js'
export { UrlSigner } from './signer.js'

/** The name under which the driver registers; `storage.driver: local` chooses it. */
export const LOCAL_DRIVER = 'local'

const Options = Type.Object({
  /** The folder of the objects; default `<data_dir>/uploads`. Relative to the working directory. */
  dir: Type.Optional(Type.String({ minLength: 1 })),
})

/**
 * Object storage on this host's disk (one instance, or a folder every instance mounts). The
 * gateway signs the upload and download URLs itself (HMAC-SHA256 with a key derived from
 * SECRET_KEY) and answers them under `/storage/local/`.
 */
export default definePlugin({
  id: 'storage-local',
  version: '0.1.0',
  core: '^0.1.0',
  description: 'Uploads on local disk behind short-lived URLs the gateway signs and serves',
  options: Options,
  async setup(ctx) {
    const root = path.resolve(ctx.options.dir ?? path.join(ctx.config.data_dir, 'uploads'))
    const storage = new LocalStorage({
      root,
      signer: new UrlSigner(ctx.secrets.secretKey),
      baseUrl: () => ctx.settings.get('site_base_url'),
    })
    ctx.storage.register(LOCAL_DRIVER, storage)
    await installStorageRoutes(ctx.http, storage)
  },
})
