import { errors } from '../errors.js'
import type { Registry } from '../kernel/registry.js'
import type { UiAdminSection, UiNavItem, UiPage } from './contributions.js'

const SECTION_PATH = /^\/admin\/[a-z0-9][a-z0-9/_-]*$/

/**
 * The console sections plugins registered, made into what the theme routes serve: an `admin`
 * page at the section's path (signing in through the console's login) and a link in the
 * console's menu, registered for the section's plugin so a path another page holds is refused.
 */
export function registerAdminSections(
  sections: Registry<UiAdminSection>,
  pages: Registry<UiPage>,
  nav: Registry<UiNavItem>,
): void {
  for (const { id, owner, item } of sections.list()) {
    if (!SECTION_PATH.test(item.path)) throw errors.PARLEY_ERR_UI_SECTION_PATH({ plugin: owner, id, path: item.path })
    const page: UiPage = {
      path: item.path,
      template: item.template,
      templatesDir: item.templatesDir,
      access: 'admin',
      signIn: '/admin/login',
      title: item.title,
    }
    pages.register(`section:${id}`, page, owner)
    nav.register(
      `section:${id}`,
      { label: item.title, href: item.path, area: 'admin', access: 'admin', order: item.order ?? 1000 },
      owner,
    )
  }
}
