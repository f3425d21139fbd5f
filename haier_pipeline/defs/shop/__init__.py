"""The shop domain: the catalogue published into a Django shop's own tables (``shop_products``, ``shop_images``)."""
