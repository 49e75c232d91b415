import { Router } from 'express';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { buildOpenApiDocument } from './document.js';

// Swagger UI from the installed swagger-ui-dist, never a CDN: the page must work where the API
// runs without internet. Only the two files the page loads are served, not the package's demo
// pages, which point at the public petstore.
const SWAGGER_UI_DIR = dirname(createRequire(import.meta.url).resolve('swagger-ui-dist/package.json'));
const ASSETS = new Set(['swagger-ui.css', 'swagger-ui-bundle.js']);

// validatorUrl: null, or Swagger UI sends the document to validator.swagger.io for a badge.
const PAGE = `<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8" />
    <meta name="viewport" content="width=device-width, initial-scale=1" />
    <title>Customer lifecycle API</title>
    <link rel="stylesheet" href="/docs/assets/swagger-ui.css" />
  </head>
  <body>
    <div id="docs"></div>
    <script src="/docs/assets/swagger-ui-bundle.js"></script>
    <script>
      SwaggerUIBundle({ url: '/openapi.json', dom_id: '#docs', deepLinking: true, validatorUrl: null });
    </script>
  </body>
</html>
`;

/** The OpenAPI document and a page rendering it; both public, like the API reference they are. */
export function docsRoutes(): Router {
  const router = Router();

  router.get('/openapi.json', (_req, res) => {
    res.json(buildOpenApiDocument());
  });

  router.get('/docs', (_req, res) => {
    res.type('html').send(PAGE);
  });

  router.get('/docs/assets/:file', (req, res, next) => {
    if (!ASSETS.has(req.params.file)) return next();
    res.sendFile(join(SWAGGER_UI_DIR, req.params.file));
  });

  return router;
}
