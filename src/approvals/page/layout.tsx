/**
 * The frame of every approval and sign-in page: plain server-rendered HTML with one
 * inline stylesheet, allowed by its hash in the Content-Security-Policy (no script).
 */
import type { Child } from 'hono/jsx'
import type { ApproverSession } from '../../identity/approver-cookie.ts'

/** Kept free of `<`, `>` and `&` so it is the same bytes inside and outside HTML. */
export const PAGE_CSS = `
:root { color-scheme: light dark; --muted: #6b7280; --line: #d1d5db; --ok: #15803d; --bad: #b91c1c; }
body { font: 15px/1.5 system-ui, sans-serif; max-width: 56rem; margin: 2rem auto; padding: 0 1rem; }
header { display: flex; justify-content: space-between; align-items: center; gap: 1rem;
  border-bottom: 1px solid var(--line); padding-bottom: .5rem; margin-bottom: 1.5rem; }
header form { margin: 0; }
h1 { font-size: 1.4rem; margin: 0 0 1rem; }
h2 { font-size: 1.1rem; margin: 1.5rem 0 .5rem; }
dl { display: grid; grid-template-columns: max-content 1fr; gap: .25rem 1rem; margin: 0; }
dt { color: var(--muted); }
dd { margin: 0; overflow-wrap: anywhere; }
pre { background: rgba(127, 127, 127, .12); padding: .75rem; overflow: auto; white-space: pre-wrap;
  overflow-wrap: anywhere; border-radius: 4px; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; border-bottom: 1px solid var(--line); padding: .25rem .5rem; vertical-align: top; }
th[scope=row] { width: 1%; white-space: nowrap; }
td { overflow-wrap: anywhere; }
.muted { color: var(--muted); }
.state { font-weight: 600; text-transform: uppercase; letter-spacing: .04em; }
.note { border-left: 4px solid var(--line); padding: .5rem 1rem; margin: 1rem 0; }
.note.ok { border-color: var(--ok); }
.note.bad { border-color: var(--bad); }
textarea { width: 100%; min-height: 4rem; box-sizing: border-box; font: inherit; }
.actions { display: flex; gap: 1rem; margin-top: .75rem; }
button { font: inherit; padding: .4rem 1.2rem; border-radius: 4px; border: 1px solid var(--line); cursor: pointer; }
button.approve { background: var(--ok); border-color: var(--ok); color: white; }
button.deny { background: var(--bad); border-color: var(--bad); color: white; }
button.link { background: none; border: none; padding: 0; text-decoration: underline; color: inherit; }
`

/** What the page shows about the signed-in person (and the sign-out form needs). */
export type Viewer = Pick<ApproverSession, 'sub' | 'email' | 'csrf'>

export function Layout(props: { title: string; viewer?: Viewer | undefined; children?: Child }) {
  return (
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <meta name="robots" content="noindex" />
        <title>{props.title} · Gatehouse</title>
        <style dangerouslySetInnerHTML={{ __html: PAGE_CSS }} />
      </head>
      <body>
        <header>
          <strong>Gatehouse</strong>
          {props.viewer ? (
            <form method="post" action="/auth/logout">
              <span class="muted">
                Signed in as {props.viewer.email ?? props.viewer.sub}
                {props.viewer.email ? ` (${props.viewer.sub})` : ''}
              </span>{' '}
              <input type="hidden" name="csrf" value={props.viewer.csrf} />
              <button class="link" type="submit">
                Sign out
              </button>
            </form>
          ) : null}
        </header>
        <main>{props.children}</main>
      </body>
    </html>
  )
}
