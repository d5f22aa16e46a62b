import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { App } from './App.js';
import { takeOAuthLanding } from './oauth-landing.js';
import './styles.css';

// The OAuth callback lands with a one-time handle: out of the address bar before anything renders (README,
// "Connected accounts"), kept for the accounts page, which completes the flow once signed in.
if (takeOAuthLanding()) history.replaceState(null, '', '/accounts');

const root = document.getElementById('root');
if (root)
  createRoot(root).render(
    <StrictMode>
      <App />
    </StrictMode>,
  );
