"""Safe uploads: files checked by their content, cleaned of metadata, stored outside the web root."""
