/**
 * Credentials are never shown: in every message, report, status page and log line, a URL's user-info and query
 * string (where tokens and passwords travel: `?access_token=…`) become `***`, as in `https://***@host/path?***`.
 * Used by the exporter on everything it reports and publishes, and by the worker on messages it did not build.
 */
const URL_IN_TEXT = /\b(https?|wss?):\/\/[^\s"'<>`]+/gi;

export function redactUrl(url: string): string {
  const m = /^([a-z][a-z0-9+.-]*:\/\/)([^/?#]*@)?([^/?#]*)([^?#]*)(\?[^#]*)?(#.*)?$/i.exec(url);
  if (!m) return url;
  const [, scheme, userinfo, host, path, query] = m;
  return `${scheme}${userinfo ? '***@' : ''}${host}${path}${query && query !== '?' ? '?***' : ''}`;
}

export function redactCredentials(text: string): string {
  return text.includes('://') ? text.replace(URL_IN_TEXT, redactUrl) : text;
}
