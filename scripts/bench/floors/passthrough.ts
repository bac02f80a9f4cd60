// The runtime's floor: forward the request, return the response, nothing else.
declare const UPSTREAM: string;
export default {
  fetch(request: Request): Promise<Response> {
    const url = new URL(request.url);
    return fetch(UPSTREAM + url.pathname.slice('/bench'.length) + url.search, request);
  },
};
