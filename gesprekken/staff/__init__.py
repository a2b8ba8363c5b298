"""The staff workspace for facilitators (/werkruimte/): plan, change and follow gesprekken.

views.py, forms.py, urls.py and queries.py plan and list; running.py (check-in, report,
flyer, calendar feed) runs them on the day. Every view goes through
facilitators.decorators and Gesprek.objects.led_by: someone else's gesprek is a 404.
"""
