/**
 * The frame of every console page: the approval pages' stylesheet plus the console's
 * own rules in one inline style (allowed by its hash), a navigation bar, and who is
 * signed in. Server-rendered; no script.
 */
import type { Child } from 'hono/jsx'
import { PAGE_CSS } from '../../approvals/page/layout.tsx'
import type { ConsoleUser } from '../access.ts'

/** Kept free of `<`, `>` and `&` so it is the same bytes inside and outside HTML. */
export const CONSOLE_CSS = `${PAGE_CSS}
body { max-width: 80rem; }
header nav { display: flex; gap: 1rem; flex-wrap: wrap; }
header nav a { text-decoration: none; }
header nav a[aria-current=page] { font-weight: 600; text-decoration: underline; }
.who { display: flex; gap: .5rem; align-items: center; }
table.list td, table.list th { white-space: nowrap; }
table.list td.wrap { white-space: normal; }
td.num, th.num { text-align: right; }
form.filters { display: flex; flex-wrap: wrap; gap: .75rem; align-items: end; margin: 0 0 1rem; }
form.filters label { display: flex; flex-direction: column; font-size: .85rem; color: var(--muted); }
form.filters input, form.filters select { font: inherit; padding: .2rem .3rem; }
form.inline { display: inline; margin: 0; }
.badge { display: inline-block; padding: 0 .5rem; border-radius: 999px; font-size: .8rem;
  font-weight: 600; border: 1px solid var(--line); }
.badge.ok { color: var(--ok); border-color: var(--ok); }
.badge.bad { color: var(--bad); border-color: var(--bad); }
.badge.warn { color: #b45309; border-color: #b45309; }
ol.timeline { list-style: none; padding: 0; margin: 0; }
ol.timeline li { border-left: 3px solid var(--line); padding: .25rem 0 .75rem 1rem; margin: 0; }
ol.timeline li.command { border-color: #2563eb; }
ol.timeline li.blocked, ol.timeline li.refused, ol.timeline li.error { border-color: var(--bad); }
ol.timeline li.approval { border-color: #b45309; }
.event-head { display: flex; gap: .75rem; align-items: baseline; flex-wrap: wrap; }
.event-head .seq { color: var(--muted); font-variant-numeric: tabular-nums; }
.masked { color: #7c3aed; }
button.danger { background: var(--bad); border-color: var(--bad); color: white; }
.pager { display: flex; gap: 1rem; margin-top: 1rem; }
`

/** The console's sections, in navigation order. */
const SECTIONS = [
  { href: '/ui/sessions', label: 'Sessions' },
  { href: '/ui/approvals', label: 'Approvals' },
  { href: '/ui/tokens', label: 'Agent tokens' },
  { href: '/ui/connections', label: 'Connections' },
  { href: '/ui/policy', label: 'Policy' },
] as const

export type Section = (typeof SECTIONS)[number]['href']

export function ConsoleLayout(props: {
  title: string
  user: ConsoleUser
  section: Section
  children?: Child
}) {
  const { session, role } = props.user
  return (
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <meta name="robots" content="noindex" />
        <title>{props.title} · Gatehouse console</title>
        <style dangerouslySetInnerHTML={{ __html: CONSOLE_CSS }} />
      </head>
      <body>
        <header>
          <strong>Gatehouse</strong>
          <nav aria-label="Console">
            {SECTIONS.map((section) => (
              <a
                href={section.href}
                aria-current={section.href === props.section ? 'page' : undefined}
              >
                {section.label}
              </a>
            ))}
          </nav>
          <form class="who" method="post" action="/auth/logout">
            <span class="muted">
              {session.email ?? session.sub} ({role})
            </span>
            <input type="hidden" name="csrf" value={session.csrf} />
            <button class="link" type="submit">
              Sign out
            </button>
          </form>
        </header>
        <main>{props.children}</main>
      </body>
    </html>
  )
}

/** A one-line note at the top of a page (after an action). */
export function Note(props: { tone: 'ok' | 'bad'; children?: Child }) {
  return <p class={`note ${props.tone}`}>{props.children}</p>
}
