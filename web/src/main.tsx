import { render } from 'preact';
import { App } from './app';
import './style.css';

const root = document.getElementById('app')!;
// The static "Loading" line is for the moment before this script runs.
root.textContent = '';
render(<App />, root);
performance.mark('hearth:rendered');

if ('serviceWorker' in navigator && location.protocol !== 'file:') {
  window.addEventListener('load', () => {
    navigator.serviceWorker.register('/sw.js', { scope: '/' }).catch(() => {});
  });
}
