"""Localised product images: fetch under a URL policy, validate with Pillow, store once, record in the catalog.

The modules are small and each has one job:

- ``rejections`` — why an image was refused (a reason category plus a detail line);
- ``urls`` — which URLs and IP addresses may be fetched (SSRF policy);
- ``transport`` — a pooled ``requests`` session that re-checks every connected address;
- ``fetch`` — a bounded download that follows at most three redirects under the policy;
- ``validate`` — decode with Pillow: real JPEG/PNG/WebP/GIF only, a pixel ceiling, no truncation;
- ``store`` — atomic, never-overwriting writes under ``images/YYYY/MM/DD/<uuid hex>.<ext>``;
- ``records`` — ``media_images`` rows and ``products.main_images``/``detail_images`` in one transaction;
- ``options`` — the pass's limits and policy, built from the ``HAIER_IMAGE_*`` settings;
- ``workers`` — download, validate and write in worker processes (or threads), with shared-out limits;
- ``localise`` — the whole pass over the products (or the listing), concurrent and de-duplicated;
- ``cleanup`` — files and rows no product references any more (dry-run by default);
- ``thumbnails`` — small inline previews for the Dagster UI.
"""

