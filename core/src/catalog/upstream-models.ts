import { Type } from '@sinclair/typebox'
import type { FastifyRequest } from 'fastify'
import { errors } from '../errors.js'
import type { HttpScope } from '../http/server.js'
import { checkBaseUrl } from '../upstream/upstream-address.js'
import type { EntityManager } from '@mikro-orm/core'
import type { AddressPolicy } from '../upstream/upstream-address.js'
import type { ChannelStore } from './channels.js'
import { probeChannelOf, type ChannelTester } from './channel-test.js'
import type { KeyAutoDisable } from './key-disable.js'
import type { ChannelView } from './views.js'

const FetchModels = Type.Object(
  {
    channel_id: Type.Optional(Type.Integer({ minimum: 1, maximum: 2_147_483_647 })),
    provider: Type.Optional(Type.String({ minLength: 1, maxLength: 32 })),
    base_url: Type.Optional(Type.String({ minLength: 1, maxLength: 500 })),
    key: Type.Optional(Type.String({ minLength: 1, maxLength: 4096 })),
    settings: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
  },
  { additionalProperties: false },
)

/** What the route needs of the catalog's admin services (admin-routes.ts `CatalogAdmin`). */
interface Catalog {
  readonly em: () => EntityManager
  readonly channels: ChannelStore
  readonly keys: Pick<KeyAutoDisable, 'testable'>
  readonly tester: ChannelTester
  readonly addressPolicy: () => AddressPolicy
}

interface RouteOptions {
  readonly tags: string[]
  readonly security: Array<Record<string, string[]>>
  readonly onRequest: (request: FastifyRequest) => Promise<void>
}

/**
 * `POST /api/admin/channels/upstream-models`: the model ids the upstream offers, through the
 * provider's `listModels`, for the console to pick from. For a form not yet saved, the
 * provider, base URL and a key come in the body; for a saved channel (`channel_id`), what the
 * body leaves out is the stored one (its first key that a test would try). The base URL is
 * checked like a saved one (SSRF rules); keys never reach the answer or the log.
 */
export function installUpstreamModelsRoute(app: HttpScope, catalog: Catalog, route: RouteOptions): void {
  app.post(
    '/api/admin/channels/upstream-models',
    {
      onRequest: route.onRequest,
      schema: {
        tags: route.tags,
        security: route.security,
        summary: "The upstream's model ids, for picking which a channel serves",
        body: FetchModels,
      },
    },
    async request => {
      const body = request.body
      const em = catalog.em()
      let stored:
        { view: ChannelView; settings: Record<string, unknown>; key?: { id: number; key: string } } | undefined
      if (body.channel_id !== undefined) {
        const { view, settings } = await catalog.channels.open(em, body.channel_id)
        const [key] = await catalog.keys.testable(em, catalog.channels, view.id)
        stored = { view, settings, ...(key ? { key } : {}) }
      }
      const provider = stored?.view.provider ?? body.provider
      const rawUrl = body.base_url ?? stored?.view.base_url
      if (provider === undefined || rawUrl === undefined)
        throw errors.PARLEY_ERR_HTTP_VALIDATION({ reason: 'body: provider and base_url, or channel_id, are needed' })
      const baseUrl = (await checkBaseUrl(rawUrl, catalog.addressPolicy())).toString()
      // A secret left blank in the form keeps the stored one.
      const given = Object.fromEntries(Object.entries(body.settings ?? {}).filter(([, value]) => value !== ''))
      const settings = { ...(stored?.settings ?? {}), ...given }
      const key = body.key !== undefined ? { id: 0, key: body.key.trim() } : stored?.key
      const view = stored?.view ?? {
        id: 0,
        name: 'new channel',
        provider,
        timeouts: { connect_ms: null, first_byte_ms: null, idle_ms: null },
      }
      const ids = await catalog.tester.listModels(
        probeChannelOf({ ...view, provider, base_url: baseUrl } as ChannelView, key, settings),
        request.log,
      )
      request.log.info({ channel_id: body.channel_id ?? null, provider, models: ids.length }, 'upstream models listed')
      return { items: ids.map(id => ({ id })), total: ids.length, page: 1, page_size: ids.length }
    },
  )
}
