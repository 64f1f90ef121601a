/**
 * Galaxy's web console: a single page on the master's HTTP API (`/api/v1`). Pages are chosen by
 * the URL's hash (`#/jobs/hello`), so the master serves one document.
 */
import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { Api, savedToken, saveToken } from './api';
import type { Info, Whoami } from './types';
import { Login } from './pages/login';
import { Overview } from './pages/overview';
import { Frameworks, Tasks } from './pages/frameworks';
import { Jobs } from './pages/jobs';
import { JobPage } from './pages/job';
import { Events } from './pages/events';
import { Usage } from './pages/usage';

const PAGES = [
  ['/', 'Overview'],
  ['/frameworks', 'Frameworks'],
  ['/tasks', 'Tasks'],
  ['/jobs', 'Jobs'],
  ['/events', 'Events'],
  ['/usage', 'Usage'],
] as const;

function useHashPath(): [string, (path: string) => void] {
  const read = () => location.hash.replace(/^#/, '') || '/';
  const [path, setPath] = useState(read());
  useEffect(() => {
    const on = () => {
      setPath(read());
    };
    addEventListener('hashchange', on);
    return () => {
      removeEventListener('hashchange', on);
    };
  }, []);
  return [path, (next: string) => (location.hash = next)];
}

function App() {
  const [token, setToken] = useState(savedToken());
  const [who, setWho] = useState<Whoami | undefined>(undefined);
  const [info, setInfo] = useState<Info | undefined>(undefined);
  const [path, go] = useHashPath();
  const api = token ? new Api(token) : undefined;
  useEffect(() => {
    if (!api) return;
    api.get<Whoami>('/whoami').then(setWho, () => {
      saveToken(undefined);
      setToken(undefined);
    });
    api.get<Info>('/info').then(setInfo, () => undefined);
  }, [token]);
  if (!api)
    return (
      <Login
        onLogin={(t, w) => {
          saveToken(t);
          setWho(w);
          setToken(t);
        }}
      />
    );
  const job = /^\/jobs\/([^/]+)$/.exec(path)?.[1];
  return (
    <>
      <header>
        <b class="brand">Galaxy</b>
        <nav>
          {PAGES.map(([p, label]) => (
            <a key={p} href={`#${p}`} class={path === p || (p !== '/' && path.startsWith(p)) ? 'active' : ''}>
              {label}
            </a>
          ))}
        </nav>
        <span class="who" data-testid="who">
          {who ? `${who.user}${who.admin ? ' (admin)' : ''}` : ''}
        </span>
        <button
          class="link"
          data-testid="logout"
          onClick={() => {
            saveToken(undefined);
            setToken(undefined);
          }}
        >
          Log out
        </button>
      </header>
      <main>
        {path === '/' && <Overview api={api} />}
        {path === '/frameworks' && <Frameworks api={api} />}
        {path === '/tasks' && <Tasks api={api} />}
        {path === '/jobs' && <Jobs api={api} go={go} />}
        {job !== undefined && <JobPage api={api} name={decodeURIComponent(job)} info={info} go={go} />}
        {path === '/events' && <Events api={api} />}
        {path === '/usage' && <Usage api={api} />}
      </main>
    </>
  );
}

render(<App />, document.getElementById('app') as HTMLElement);
