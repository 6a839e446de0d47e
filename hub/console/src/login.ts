/** The login page: name and password, then back to where the user was going. */
import { HubError, login } from './api.js';
import { esc } from './format.js';
import type { Session } from './api.js';

export function renderLogin(root: HTMLElement, onDone: (s: Session) => void, message?: string): void {
  root.innerHTML = `
    <section class="card login" aria-labelledby="login-title">
      <h2 id="login-title">Log in to the hub</h2>
      ${message ? `<p class="banner warn" role="status">${esc(message)}</p>` : ''}
      <form id="login-form">
        <label>Name <input name="name" autocomplete="username" required autofocus></label>
        <label>Password <input name="password" type="password" autocomplete="current-password" required></label>
        <button type="submit">Log in</button>
        <p class="banner error" id="login-error" role="alert" hidden></p>
      </form>
    </section>`;
  const form = root.querySelector<HTMLFormElement>('#login-form')!;
  const error = root.querySelector<HTMLElement>('#login-error')!;
  form.querySelector<HTMLInputElement>('input[name=name]')!.focus();
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const data = new FormData(form);
    error.hidden = true;
    try {
      onDone(await login(String(data.get('name')), String(data.get('password'))));
    } catch (e) {
      error.textContent = e instanceof HubError ? `${e.message} (${e.code})` : String(e);
      error.hidden = false;
    }
  });
  root.dataset.rendered = 'login';
}
