// Hono's own cost: the same passthrough as one catch-all route of a Hono app.
import { Hono } from 'hono';
declare const UPSTREAM: string;
const app = new Hono();
app.all('*', (c) => {
  const url = new URL(c.req.url);
  return fetch(UPSTREAM + url.pathname.slice('/bench'.length) + url.search, c.req.raw);
});
export default app;
