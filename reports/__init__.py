"""Reports: signed PDF lineage reports rendered by Celery jobs and verifiable offline.
Its models arrive with the reporting work; the app is registered now so its migrations
start from the first release."""
