import { errors } from '../errors.js'
import type { Registered } from '../kernel/registry.js'
import type { UiAdminSection, UiNavItem, UiPage } from './contributions.js'

const SECTION_PATH = /^\/admin\/[a-z0-9][a-z0-9/_-]*$/

/**
 * The console sections plugins registered, as what the theme routes serve: an `admin` page at
 * the section's path (signing in through the console's login) and a link in the console's menu.
 */
export function adminSectionPages(sections: readonly Registered<UiAdminSection>[]): { pages: Registered<UiPage>[]; nav: Registered<UiNavItem>[] } {
  const pages: Registered<UiPage>[] = []
  const nav: Registered<UiNavItem>[] = []
  for (const { id, owner, item } of sections) {
    if (!SECTION_PATH.test(item.path)) throw errors.PARLEY_ERR_UI_SECTION_PATH({ plugin: owner, id, path: item.path })
    pages.push({ id: `section:${id}`, owner, item: { path: item.path, template: item.template, templatesDir: item.templatesDir, access: 'admin', signIn: '/admin/login', title: item.title } })
    nav.push({ id: `section:${id}`, owner, item: { label: item.title, href: item.path, area: 'admin', access: 'admin', order: item.order ?? 1000 } })
  }
  return { pages, nav }
}
