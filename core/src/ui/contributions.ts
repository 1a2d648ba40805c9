/*
 * What plugins contribute to the server-rendered UI. The theme engine consumes these; a theme
 * may override any template a plugin names here.
 */

export interface UiPage {
  /** URL path, e.g. `/tickets`. */
  readonly path: string
  /** Template name resolved through the active theme first, then the plugin's own templates. */
  readonly template: string
  /**
   * Directory with the plugin's own templates, shaped like a theme: `pages/<template>.hbs`
   * and optionally `locales/<lang>.json` (the fallback of the resolution chain).
   */
  readonly templatesDir: string
  /** Who may see the page: `user` and `admin` pages send visitors to `/login`. */
  readonly access: 'public' | 'user' | 'admin'
  readonly title?: string
}

export interface UiNavItem {
  readonly label: string
  readonly href: string
  readonly area: 'portal' | 'admin'
  readonly order?: number
  readonly access: 'public' | 'user' | 'admin'
}

export interface UiPartial {
  /** Partial name as used in templates (`{{> name}}`); a theme partial of that name wins. */
  readonly name: string
  /** Absolute path of the `.hbs` file. */
  readonly file: string
}

export interface UiAdminSection {
  readonly title: string
  readonly path: string
  readonly template: string
  readonly templatesDir: string
}
