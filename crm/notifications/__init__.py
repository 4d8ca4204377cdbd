"""Digests and alerts: the numbers come to the manager by mail (crm/marketing/mail.py sends them).

``schedule`` says when a digest is due (the app's time zone), ``subscriptions`` who gets which,
``digests`` builds and sends them, ``alerts`` finds conditions, opens and clears episodes and mails
them, ``deliveries`` claims each mail in the database before it goes out (at most once per digest
period or alert episode and user), ``scheduler`` runs both on a timer.
"""
