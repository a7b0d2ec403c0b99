import { mount } from 'svelte';
import { z } from 'zod';
import './app.css';
import App from './App.svelte';
import { applyRememberedTheme } from './stores/settings.svelte';

// The page's CSP forbids eval: zod must not try to compile its parsers with new Function().
z.config({ jitless: true });
applyRememberedTheme();

mount(App, { target: document.getElementById('app')! });
