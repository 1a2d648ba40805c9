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
  /**
   * Who may see the page, checked on the server before it renders: `user` pages send visitors
   * to `signIn`, `admin` pages send them to `signIn` and answer 403 to a signed-in user.
   */
  readonly access: 'public' | 'user' | 'admin'
  /** Where a visitor is sent to sign in, with `?next=<this page>`; `/login` by default. */
  readonly signIn?: string
  readonly title?: string
}

/**
 * A link in the portal's or the console's navigation. `label` is a message key of the
 * plugin's locales (or plain text where no message has that key).
 */
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

/**
 * A section of the admin console contributed by a plugin: a page under `/admin/` for root and
 * admin only, listed in the console's navigation. Its template renders inside the theme's
 * layout like any page; `{{> admin/nav}}` (from the admin plugin) draws the console's menu.
 */
export interface UiAdminSection {
  /** Message key (or plain text) of the navigation entry and the page title. */
  readonly title: string
  /** Under `/admin/`, e.g. `/admin/tickets`. */
  readonly path: string
  readonly template: string
  readonly templatesDir: string
  readonly order?: number
}
