/**
 * ks-apiserver's answers when authorization says no: a 403 Kubernetes Status in its wording (k8s
 * `responsewriters.Forbidden` + `apierrors.NewForbidden`), or the 500 of a request it cannot resolve.
 */
import type { RequestInfo } from './request-info';

const escapeHtml = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
/** Go's %q for the strings that appear here. */
const q = (s: string) => JSON.stringify(s);

export function forbiddenMessage(ri: RequestInfo, user: string, errors: readonly string[]): string {
  let msg: string;
  if (!ri.isResourceRequest) msg = `User ${q(user)} cannot ${ri.verb} path ${q(ri.path)}`;
  else {
    const resource = ri.subresource ? `${ri.resource}/${ri.subresource}` : ri.resource;
    const where = ri.namespace ? `in the namespace ${q(ri.namespace)}` : 'at the cluster scope';
    msg = `User ${q(user)} cannot ${ri.verb} resource ${q(resource)} in API group ${q(ri.apiGroup)} ${where}`;
  }
  msg = escapeHtml(msg);
  if (errors.length) msg += `: RBAC: ${errors.length === 1 ? errors[0] : `[${errors.join(', ')}]`}`;
  const qualified = ri.apiGroup ? `${ri.resource}.${ri.apiGroup}` : ri.resource;
  if (ri.apiGroup === '' && ri.resource === '') return `forbidden: ${msg}`;
  return ri.name ? `${qualified} ${q(ri.name)} is forbidden: ${msg}` : `${qualified} is forbidden: ${msg}`;
}

export function forbidden(ri: RequestInfo, user: string, errors: readonly string[], method: string): Response {
  const details: Record<string, string> = {};
  if (ri.apiGroup) details.group = ri.apiGroup;
  if (ri.resource) details.kind = ri.resource;
  if (ri.name) details.name = ri.name;
  const body = {
    kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: forbiddenMessage(ri, user, errors),
    reason: 'Forbidden', details, code: 403,
  };
  const headers = { 'Content-Type': 'application/json', 'X-Content-Type-Options': 'nosniff', 'Cache-Control': 'no-store' };
  return new Response(method === 'HEAD' ? null : JSON.stringify(body), { status: 403, headers });
}

/** ks-apiserver's `WithRequestInfo` failure: a 500 in Go's http.Error text form. */
export function requestInfoFailed(path: string, why: string): Response {
  return new Response(`Internal Server Error: ${q(path)}: failed to crate RequestInfo: ${why}\n`, {
    status: 500,
    headers: { 'Content-Type': 'text/plain; charset=utf-8', 'X-Content-Type-Options': 'nosniff', 'Cache-Control': 'no-store' },
  });
}
