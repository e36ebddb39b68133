"""The office's server: ``onetrip serve`` — the REST API generated from ``engine.protocol`` and the
clerks', reformers' and designers' web pages, over the same service facade as the command line."""
