"""Media contacts (policy 8.1): staff log an approach by the media to their personal account
before responding; the communications team triages it and advises them."""
