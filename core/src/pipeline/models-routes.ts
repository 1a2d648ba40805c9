import type { FastifyRequest } from 'fastify'
import type { CatalogCache, CatalogSnapshot, ModelInfo } from '../catalog/snapshot.js'
import { errors } from '../errors.js'
import type { HttpScope } from '../http/server.js'
import type { SettingsRegistry } from '../settings/registry.js'
import { requireUser } from '../auth/authenticate.js'
import { groupModelsOf, tokenModelsOf, type Principal } from '../auth/principal.js'
import type { Registry } from '../kernel/registry.js'
import { personalModelName, type PersonalModels } from './personal-upstream.js'

/** OpenAI lists no creation time we could know; a fixed one keeps answers stable. */
const CREATED = 1_700_000_000

/**
 * The models a caller may use, straight from the in-memory snapshot (no query): `GET /v1/models`
 * in OpenAI's shape for API clients, `GET /api/chat/models` for the portal, which honours the
 * group's chat route (the picker shows only what that channel serves). Both list only
 * what the group's model list allows, as the pipeline refuses the rest.
 */
export function installModelRoutes(
  app: HttpScope,
  catalog: CatalogCache,
  settings: SettingsRegistry,
  personal: Registry<PersonalModels>,
): void {
  app.get(
    '/v1/models',
    {
      schema: {
        tags: ['data plane'],
        summary: 'Models you may call (OpenAI format)',
        security: [{ bearer: [] }, { apiKey: [] }],
      },
    },
    async request => {
      const caller = await requireUser(request, { apiTokens: true })
      if (settings.get('model_passthrough')) throw errors.PARLEY_ERR_ROUTE_LISTING_OFF()
      // An API token with a model list of its own lists only those (the pipeline refuses the rest).
      const own = tokenModelsOf(caller)
      const models = modelsFor(catalog.current(), caller.group, false, caller.groupModels).filter(
        model => own === undefined || own.includes(model.name),
      )
      return {
        object: 'list',
        data: models.map(model => ({ id: model.name, object: 'model', created: CREATED, owned_by: 'parley' })),
      }
    },
  )

  app.get(
    '/api/chat/models',
    { schema: { tags: ['portal'], summary: 'Models the chat page offers you' } },
    async request => {
      const caller = await portalCaller(request)
      const items: Array<Record<string, unknown>> = modelsFor(
        catalog.current(),
        caller.group,
        true,
        groupModelsOf(caller),
      ).map(model => ({
        name: model.name,
        display_name: model.displayName,
        reasoning: model.reasoning,
        vision: model.vision,
      }))
      // The caller's own configs after the catalog's, marked personal: sent back as `model_config_id`.
      for (const source of personal.items())
        for (const mine of await source.list(caller))
          items.push({
            name: personalModelName(mine.id),
            display_name: mine.name,
            reasoning: false,
            vision: false,
            personal: true,
            model_config_id: mine.id,
            upstream_model: mine.model,
          })
      return { items, total: items.length, page: 1, page_size: items.length }
    },
  )
}

/**
 * Enabled models an enabled channel serving the group binds; only the chat route's when one
 * exists; of those only the ones in `allowed`, the group's model list, when it has one.
 */
export function modelsFor(
  snapshot: CatalogSnapshot,
  group: string,
  chat: boolean,
  allowed?: readonly string[],
): ModelInfo[] {
  const routed = chat ? snapshot.chatRoutes.get(group) : undefined
  const names = new Set<string>()
  for (const channel of snapshot.channels) {
    if (routed !== undefined ? channel.id !== routed : !channel.groups.has(group)) continue
    for (const name of channel.models.keys()) if (allowed === undefined || allowed.includes(name)) names.add(name)
  }
  return [...names]
    .map(name => snapshot.models.get(name))
    .filter((model): model is ModelInfo => model !== undefined)
    .sort((a, b) => a.name.localeCompare(b.name))
}

/** The portal serves signed-in users and, when guest access is on, guests. */
async function portalCaller(request: FastifyRequest): Promise<Principal> {
  const principal = await request.principal()
  if (!principal) throw errors.PARLEY_ERR_AUTH_REQUIRED()
  return principal
}
