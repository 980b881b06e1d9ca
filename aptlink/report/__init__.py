"""Reports: JSON, Markdown/HTML, STIX 2.1, MISP and ATT&CK Navigator exports of a case."""
