/** Where an http job goes after a 3xx: origins, downgrades and methods (pure, no network). */
import { describe, expect, it } from 'vitest';
import { nextHop, type HopRequest } from '../../../src/jobs/builtin/http-redirect.js';

const request: HopRequest = {
  url: 'https://api.example.com/v1/ping',
  method: 'POST',
  headers: {
    Authorization: 'Bearer s',
    'X-Api-Key': 'k',
    'X-Plain': 'p',
    'content-type': 'application/json',
  },
  body: '{}',
};
const answer = (status: number, location?: string) => ({
  status,
  headers: new Headers(location ? { location } : {}),
});
const secretHeaders = ['x-api-key'];

describe('nextHop', () => {
  it('follows within the origin, keeping every header and, on 307, the method and body', () => {
    expect(nextHop(request, answer(307, '/v2/ping'), { policy: 'same-origin', secretHeaders })).toEqual({
      kind: 'follow',
      request: { ...request, url: 'https://api.example.com/v2/ping' },
    });
  });

  it('refuses another origin under same-origin, and follows it under any without credentials', () => {
    const away = answer(302, 'https://elsewhere.example.net/x');
    expect(nextHop(request, away, { policy: 'same-origin', secretHeaders })).toMatchObject({
      kind: 'refused',
      reason: expect.stringMatching(/another origin \(https:\/\/elsewhere\.example\.net\)/),
    });
    // 302 after a POST becomes a GET without a body.
    expect(nextHop(request, away, { policy: 'any', secretHeaders })).toEqual({
      kind: 'follow',
      request: {
        url: 'https://elsewhere.example.net/x',
        method: 'GET',
        headers: { 'X-Plain': 'p' },
        body: undefined,
      },
    });
  });

  it('never sends credentials from https to http, even on the same host', () => {
    const hop = nextHop(request, answer(308, 'http://api.example.com/v1/ping'), {
      policy: 'any',
      secretHeaders,
    });
    expect(hop).toMatchObject({ kind: 'follow', request: { method: 'POST', body: '{}' } });
    expect(Object.keys((hop as { request: HopRequest }).request.headers)).toEqual([
      'X-Plain',
      'content-type',
    ]);
  });

  it('treats a port change as another origin, refuses odd schemes, and stops under none', () => {
    expect(
      nextHop(request, answer(301, 'https://api.example.com:8443/'), { policy: 'same-origin', secretHeaders })
        .kind,
    ).toBe('refused');
    expect(
      nextHop(request, answer(302, 'file:///etc/passwd'), { policy: 'any', secretHeaders }),
    ).toMatchObject({
      kind: 'refused',
      reason: 'redirected to a file: URL',
    });
    expect(nextHop(request, answer(302, '/x'), { policy: 'none', secretHeaders })).toEqual({ kind: 'final' });
    expect(nextHop(request, answer(200), { policy: 'any', secretHeaders })).toEqual({ kind: 'final' });
  });
});
