import { Type } from '@sinclair/typebox'
import type { HttpScope } from '../http/server.js'
import { requireRole } from '../auth/authenticate.js'
import { languageOf, parseLanguage } from '../i18n.js'
import type { SettingsRegistry } from './registry.js'

/**
 * `GET/PUT /api/admin/config` (Appendix A): every runtime setting, core and plugin, as one
 * object. A PUT names only what it changes, is checked whole before anything is written (one
 * bad value changes nothing) and answers the whole config; every instance applies it within a
 * second. `GET /api/admin/config/schema` describes each setting for generated forms, with its
 * label, help and option labels in the caller's language (`?lang=`, else `Accept-Language`).
 */
export function installSettingsAdminRoutes(app: HttpScope, settings: SettingsRegistry): void {
  const common = {
    onRequest: async (request: Parameters<typeof requireRole>[0]) => void (await requireRole(request, 'admin', 'root')),
  }
  const tags = ['admin: settings']
  const security = [{ bearer: [] }]
  const all = () => Object.fromEntries(settings.list().map(setting => [setting.key, setting.value]))

  app.get('/api/admin/config', { ...common, schema: { tags, security, summary: 'Every runtime setting' } }, async () =>
    all(),
  )

  app.put(
    '/api/admin/config',
    {
      ...common,
      schema: {
        tags,
        security,
        summary: 'Change runtime settings (all or nothing)',
        body: Type.Record(Type.String({ minLength: 1, maxLength: 100 }), Type.Unknown()),
      },
    },
    async request => {
      const changes = request.body as Record<string, unknown>
      await settings.setMany(changes)
      request.log.info({ keys: Object.keys(changes) }, 'settings changed')
      return all()
    },
  )

  const SchemaQuery = Type.Object(
    { lang: Type.Optional(Type.String({ maxLength: 10 })) },
    { additionalProperties: false },
  )
  app.get(
    '/api/admin/config/schema',
    {
      ...common,
      schema: {
        tags,
        security,
        summary: 'Each setting: owner, JSON schema, default, and its label, help and option labels in your language',
        querystring: SchemaQuery,
      },
    },
    async request => {
      const language =
        parseLanguage((request.query as { lang?: string }).lang) ?? languageOf(request.headers['accept-language'])
      const items = settings.list().map(setting => {
        const texts = settings.textsOf(setting.key, language)
        return {
          key: setting.key,
          owner: setting.owner,
          schema: setting.schema,
          default: setting.default,
          title: texts.title,
          description: texts.description ?? null,
          options: texts.options,
          public: setting.public,
        }
      })
      return { items, total: items.length, page: 1, page_size: items.length, language }
    },
  )
}
