/** A page that only says something: an error, a refusal, or that sign-in is off. */
import type { Child } from 'hono/jsx'
import { Layout, type Viewer } from './layout.tsx'

export function MessagePage(props: {
  title: string
  message: string
  code?: string | undefined
  tone?: 'ok' | 'bad' | undefined
  viewer?: Viewer | undefined
  /** Where to go next, e.g. the sign-in that returns to the page. */
  link?: { href: string; label: string } | undefined
  children?: Child
}) {
  return (
    <Layout title={props.title} viewer={props.viewer}>
      <h1>{props.title}</h1>
      <p class={`note ${props.tone ?? 'bad'}`}>
        {props.message}
        {props.code ? <span class="muted"> ({props.code})</span> : null}
      </p>
      {props.link ? (
        <p>
          <a href={props.link.href}>{props.link.label}</a>
        </p>
      ) : null}
      {props.children}
    </Layout>
  )
}
