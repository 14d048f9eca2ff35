"""The sandbox's one blueprint; its routes are in citizens, pki, sms and operator."""

from flask import Blueprint

bp = Blueprint("sandbox", __name__)
