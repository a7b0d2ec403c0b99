/** The sandboxed preload: exposes the typed contract as `window.sgai`, nothing else. */
import { contextBridge, ipcRenderer, webUtils } from 'electron';
import { buildBridge } from './bridge';

contextBridge.exposeInMainWorld('sgai', buildBridge(ipcRenderer, webUtils));
