/** Token login: the token is checked with the API before it is kept. */
import { useState } from 'preact/hooks';
import { Api, ApiError } from '../api';
import type { Whoami } from '../types';

export function Login(props: { onLogin: (token: string, who: Whoami) => void }) {
  const [token, setToken] = useState('');
  const [error, setError] = useState('');
  const submit = async (e: Event) => {
    e.preventDefault();
    setError('');
    try {
      const who = await new Api(token.trim()).get<Whoami>('/whoami');
      props.onLogin(token.trim(), who);
    } catch (err) {
      setError(err instanceof ApiError ? err.message : String(err));
    }
  };
  return (
    <main class="login">
      <h1>Galaxy</h1>
      <form onSubmit={(e) => void submit(e)}>
        <label for="token">Bearer token</label>
        <input
          id="token"
          data-testid="token"
          type="password"
          autocomplete="off"
          value={token}
          onInput={(e) => {
            setToken((e.target as HTMLInputElement).value);
          }}
          placeholder="galaxy up writes it to .galaxy/admin.token"
        />
        <button type="submit" data-testid="login">
          Log in
        </button>
        {error && (
          <p class="error" data-testid="login-error">
            {error}
          </p>
        )}
      </form>
    </main>
  );
}
