"""Static analysis of files carried by evidence (mail attachments and what they contain): archives,
Office documents, shortcuts, PDFs, HTML, scripts and executables. Nothing here writes a file or runs one;
every analyser works on bytes in memory under the bounds of a :class:`~aptlink.analysis.base.Scan`.
"""
