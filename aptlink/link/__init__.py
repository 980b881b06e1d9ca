"""Linking: findings into incidents, incidents into campaigns, campaigns to actors."""
