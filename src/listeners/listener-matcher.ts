/**
 * Which executions a job or trigger listener hears about: by name (the job's name for a job listener,
 * the trigger's for a trigger listener) and by trigger group, each an exact string or a glob (`*` any run
 * of characters, `?` one character). Both given: both must match. A list of matchers: any may match.
 */

export interface ListenerMatcher {
  name?: string;
  group?: string;
}

export type MatchTest = (name: string, group: string) => boolean;

const matchAll: MatchTest = () => true;

export function compileMatcher(matcher: ListenerMatcher | readonly ListenerMatcher[] | undefined): MatchTest {
  if (matcher === undefined) return matchAll;
  const list = Array.isArray(matcher)
    ? (matcher as readonly ListenerMatcher[])
    : [matcher as ListenerMatcher];
  if (list.length === 0) return matchAll;
  const tests = list.map((one) => {
    const name = one.name === undefined ? undefined : compileGlob(one.name);
    const group = one.group === undefined ? undefined : compileGlob(one.group);
    return (n: string, g: string) => (name === undefined || name(n)) && (group === undefined || group(g));
  });
  return tests.length === 1 ? tests[0]! : (n, g) => tests.some((test) => test(n, g));
}

export function compileGlob(pattern: string): (value: string) => boolean {
  if (!/[*?]/.test(pattern)) return (value) => value === pattern;
  const source = pattern
    .split('')
    .map((char) => (char === '*' ? '.*' : char === '?' ? '.' : char.replace(/[\\^$.|+()[\]{}]/g, '\\$&')))
    .join('');
  const regex = new RegExp(`^${source}$`, 's');
  return (value) => regex.test(value);
}
